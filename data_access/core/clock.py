"""Local time of the data: every timestamp in the database is Asia/Shanghai wall time."""
from __future__ import annotations

import os
from datetime import date, datetime
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")


def now_local() -> datetime:
    """Now, as naive Asia/Shanghai time (seconds precision), comparable with stored timestamps.

    ``GOV_NOW`` (ISO, local time) freezes the clock: for demos of a historical dataset and for tests."""
    frozen = os.environ.get("GOV_NOW", "").strip()
    if frozen:
        return datetime.fromisoformat(frozen).replace(tzinfo=None, microsecond=0)
    return datetime.now(TZ).replace(tzinfo=None, microsecond=0)


def wall_now() -> datetime:
    """The real time (naive Asia/Shanghai), whatever ``GOV_NOW`` says: for sign-in locks, sessions and the
    audit log, which happen in the present even while a demo shows a frozen dataset."""
    return datetime.now(TZ).replace(tzinfo=None, microsecond=0)


def today_local() -> date:
    return now_local().date()
