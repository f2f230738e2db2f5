"""The README's screenshots, made again from the running app on the demo dataset:

    python -m tools.readme_screenshots [--out docs/screenshots] [--db sqlite:////tmp/readme-demo.db] [--only cases,case_panel]

Starts ``streamlit run app.py`` on a free port (an empty database gets the demo data first), signs
in with the demo accounts and photographs every page in Chinese and in English at 1440×1000, the Overview in
the dark theme, on a 1366×768 laptop and on a 2560×1440 wall display (``?wall=1``), and the sign-in page.  Every shot waits
until the app has finished running; a page with an exception element or an error alert stops the run.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from bench.visits import LOUXING, samples  # the sample case, grid, team and unit to open
from tools import browser

DESKTOP = {"width": 1440, "height": 1000}


@dataclass(frozen=True)
class Shot:
    name: str  # file name without the language and .png
    path: str  # URL path ("" = the Overview)
    query: dict[str, str] = field(default_factory=dict)
    account: str | None = "demo_leader"  # None: signed out
    scroll_to: str | None = None  # a CSS selector scrolled into view before the shot


def shrink(png: Path) -> None:
    """256 colours without dithering: a screenshot of flat UI colours looks the same at a third of the bytes,
    which matters for pictures kept in git and made again with each change."""
    from PIL import Image  # Pillow comes with Streamlit

    with Image.open(png) as im:
        small = im.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    small.save(png, optimize=True)


def shots(samples: dict[str, str]) -> list[Shot]:
    return [
        Shot("overview", ""),
        Shot("cases", "cases", {"region": LOUXING, "overdue": "open", "sort": "overdue_desc"}),
        Shot("case_panel", "cases", {"case": samples["case"]}, scroll_to=".st-key-case_panel"),
        Shot("supervision_backlog", "supervision", {"view": "backlog"}),
        Shot("supervision_ranking", "supervision", {"view": "ranking"}),
        Shot("staffing_regions", "staffing", {"view": "regions"}),
        Shot("staffing_structure", "staffing", {"view": "structure"}),
        Shot("volunteers_activities", "volunteers", {"view": "activities"}),
        Shot("assets_money", "assets", {"view": "money"}, account="demo_yueyang"),
        Shot("clean_ranking", "clean", {"region": LOUXING}),
        Shot("audit", "audit"),
        Shot("help", "help"),
        Shot("signin", "", account=None),
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(browser.ROOT / "docs" / "screenshots"))
    ap.add_argument("--db", help="database URL (default: a new SQLite file; the app builds the demo data in it)")
    ap.add_argument("--only", help="comma-separated shot names (cases,case_panel …): make only these again")
    a = ap.parse_args()
    only = set(a.only.split(",")) if a.only else None
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="readme-shots-"))
    db = a.db or f"sqlite:///{tmp / 'demo.db'}"

    from playwright.sync_api import sync_playwright

    # The real clock (GOV_NOW empty), and the demo data built here into an empty database (the app builds none
    # into a database GOV_DB_URL names).
    from data_access.core.db import is_empty, make_engine
    from sample_data import build_demo_if_empty

    engine = make_engine(db)
    if is_empty(engine):
        build_demo_if_empty(engine)
    engine.dispose()
    with browser.app_server(db, log=tmp / "app.log", env={"GOV_NOW": ""}) as app, \
            sync_playwright() as p:
        chromium = browser.launch(p)
        states: dict[str, str] = {}

        def context(account: str | None, viewport: dict, dark: bool = False):
            ctx = chromium.new_context(viewport=viewport, color_scheme="dark" if dark else "light",
                                       storage_state=states.get(account) if account else None)
            if account and account not in states:  # sign in once per account through the sign-in page
                tab = ctx.new_page()
                tab.goto(app.url + "/")
                browser.wait_for_app(tab, timeout_s=180)  # the first start builds the demo data
                browser.sign_in_demo(tab, account)
                states[account] = str(tmp / f"{account}.json")
                ctx.storage_state(path=states[account])
                tab.close()
            return ctx

        def take(shot: Shot, lang: str, file: str, viewport: dict = DESKTOP, dark: bool = False) -> None:
            ctx = context(shot.account, viewport, dark)
            tab = ctx.new_page()
            query = {**shot.query, **({"lang": lang} if lang != "zh" else {})}
            tab.goto(f"{app.url}/{shot.path}" + (f"?{urlencode(query)}" if query else ""))
            browser.wait_for_app(tab, timeout_s=180)
            if shot.scroll_to:
                tab.locator(shot.scroll_to).first.scroll_into_view_if_needed()
            tab.wait_for_timeout(1200)  # charts finish their first paint
            problems = tab.locator("[data-testid=stException], [data-testid=stAlertContentError]")
            if problems.count():
                raise SystemExit(f"{file}: {problems.first.inner_text()[:300]}")
            tab.screenshot(path=str(out / file))
            shrink(out / file)
            print("saved", out / file)
            ctx.close()

        # The demo data exists once the leader has signed in (the first start builds it).
        context("demo_leader", DESKTOP).close()
        for shot in shots(samples(db)):
            if only is not None and shot.name not in only:
                continue
            for lang in ("zh", "en"):
                take(shot, lang, f"{shot.name}_{lang}.png")
        if only is not None:
            chromium.close()
            return 0
        overview = Shot("overview", "")
        take(overview, "zh", "overview_zh_dark.png", dark=True)
        take(Shot("supervision_backlog", "supervision", {"view": "backlog"}), "en", "supervision_backlog_en_dark.png",
             dark=True)
        take(overview, "zh", "overview_zh_laptop.png", viewport=browser.LAPTOP)
        take(Shot("overview", "", {"wall": "1"}), "zh", "overview_zh_wall.png", viewport=browser.WALL)
        chromium.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
