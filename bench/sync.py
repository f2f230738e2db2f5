"""Incremental sync (``python -m data_access sync DIR``): batch latency at full scale, syncing beside readers, and
a run of batches ending exactly where a full load of the end state is.

    python -m bench sync [--scale full] [--pg postgresql+psycopg://postgres@127.0.0.1:5432/postgres | --pg '']
                         [--parts latency,readers,equality] [--runs 5] [--readers-seconds 600]
                         [--equality-scale 100k] [--batches 300] [--prefix gov_bench_] [--dataset sample]

Parts (results in bench/results/sync-<part>-<scale>-<db>.json; docs/PERFORMANCE.md, "Sync", reports them):
  latency   on a copy of the suite's dataset of ``--scale`` (bench/datasets.py; SQLite: bench/sync-<scale>.db,
            PostgreSQL: <prefix>sync_<scale>), a batch of 1 case (an open case taking its next step, one new
            event) and a batch of 10,000 cases with about 40,000 events (6,000 new cases reported today and
            taken 2–4 steps on, 4,000 open cases of the database taken 1–3 steps on, with notes) — each made
            from the database as it stands before it (fresh cases, fresh numbers, ``produced_at`` increasing),
            applied in this process with sync_batch (what the command runs, without the interpreter's start);
            median of ``--runs`` (the 10,000-case batch: of ``--big-runs``); wall time and CPU time (this process
            and, on PostgreSQL, the server process of its connection).  Targets at 1.07 M cases: ≤ 0.3 s
            and ≤ 10 s; at 5 M within 1.5× of those.
  readers   20 reading sessions on one server (bench/concurrency.py, 3–8 s between clicks) for
            ``--readers-seconds``, first alone, then beside a process syncing a batch of 50 cases (~200 events)
            every 10 s on the same database.  Target: no reader error, reader p95 within 1.5× of the run
            without syncing.
  equality  the sample of ``--equality-scale`` (bench/datasets.py's CSV) split into ``--batches`` batches in time
            order (the reference data first; each case sent as it stood at the end of every window it changed
            in, its events and orders when they happened), synced one after another into an empty, migrated
            database; then the end state loaded whole into another; every dataset table (derived columns
            included) and every roll-up table compared row by row, without the row times.  Both databases.

The batches are written under bench/sync-batches/ (ignored by git) and removed after use.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
WORK = BENCH / "sync-batches"
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

STEP_COLS = ("accepted_at", "dispatched_at", "handled_at", "feedback_at", "closed_at")
STEP_ACTIONS = ("accept", "dispatch", "handle", "feedback", "close")
STATUSES = ("reported", "accepted", "dispatched", "handling", "feedback", "closed")
LEVELS = ("grid", "village", "township", "county", "city")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"
# new cases are reported from here on (the sample's as-of day); each batch a few minutes later
NEW_FROM = datetime(2026, 10, 8, 8, 0)


def _ts(v) -> str:
    if v is None:
        return ""
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%dT%H:%M:%S")
    return str(v).replace(" ", "T")[:19]


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, datetime):
        return _ts(v)
    return str(v)


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def _write_batch(folder: Path, batch_id: str, produced_at: datetime, files: dict[str, tuple[list[str], list]],
                 deletions: list | None = None) -> Path:
    """A batch folder: the files, then batch.json last (as a producer must)."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name, (header, rows) in files.items():
        if rows:
            _write_csv(folder / name, header, rows)
    if deletions:
        _write_csv(folder / "deletions.csv", ["table", "key"], deletions)
    (folder / "batch.json").write_text(json.dumps({"batch_id": batch_id, "produced_at": produced_at.isoformat()}),
                                       encoding="utf-8")
    return folder


# --- batches made from the database as it stands ---------------------------------------------------------------

class BatchMaker:
    """Batches of new and changed cases that fit the database they are made from (so that it accepts them)."""

    def __init__(self, engine, folder: Path, seed: int = 1):
        from data_access.core.contract import BY_NAME

        self.engine, self.folder, self.rng = engine, folder, random.Random(seed)
        self.case_cols = BY_NAME["cases.csv"].column_names
        self.event_cols = BY_NAME["case_events.csv"].column_names
        self.n = 0
        self.last_produced: datetime | None = None
        self._templates: list[tuple] | None = None
        self.tag = datetime.now().strftime("%H%M%S") + f"{os.getpid() % 1000:03d}"

    def _produced_at(self) -> datetime:
        from data_access.core.clock import TZ

        now = datetime.now(TZ).replace(microsecond=0)
        if self.last_produced is not None and now <= self.last_produced:
            now = self.last_produced + timedelta(seconds=1)
        self.last_produced = now
        return now

    def templates(self, conn) -> list[tuple]:
        """What a new case takes from a stored one: grid, category, source, title, description, department."""
        if self._templates is None:
            from data_access.core.schema import cases

            c = cases.c
            self._templates = [tuple(r) for r in conn.execute(
                select(c.grid_code, c.category, c.source, c.title, c.description, c.department_code)
                .where(c.department_code.is_not(None), c.reported_at >= datetime(2026, 1, 1)).limit(20000))]
            if not self._templates:
                self._templates = [tuple(r) for r in conn.execute(
                    select(c.grid_code, c.category, c.source, c.title, c.description, c.department_code).limit(20000))]
        return self._templates

    def open_cases(self, conn, k: int) -> list[dict]:
        """``k`` open cases drawn at random, whole rows, with the last seq and time of their source events."""
        from data_access.core.contract import APP_SEQ_BASE
        from data_access.core.schema import case_events, cases

        c, e = cases.c, case_events.c
        nos = list(conn.execute(select(c.case_no).where(c.status != "closed")).scalars())
        picked = sorted(self.rng.sample(nos, min(k, len(nos))))
        out = []
        for i in range(0, len(picked), 1000):
            part = picked[i:i + 1000]
            rows = {r["case_no"]: dict(r) for r in conn.execute(
                select(*[c[n] for n in self.case_cols]).where(c.case_no.in_(part))).mappings()}
            for no, seq, at in conn.execute(select(e.case_no, func.max(e.seq), func.max(e.at))
                                            .where(e.case_no.in_(part), e.seq < APP_SEQ_BASE).group_by(e.case_no)):
                rows[no]["_seq"], rows[no]["_at"] = seq, at
            out += rows.values()
        return out

    def _event(self, case_no: str, seq: int, at: datetime, action: str, org: str | None, note: str = "") -> list:
        return [case_no, str(seq), _ts(at), action, self._name(), org or "", note]

    def _name(self) -> str:
        return self.rng.choice(SURNAMES) + self.rng.choice(GIVEN) + (self.rng.choice(GIVEN) if self.rng.random() < .5
                                                                     else "")

    def make(self, new: int, changed: int, notes: bool = True) -> tuple[Path, dict]:
        """A batch of ``new`` new cases and ``changed`` open cases taken on; with ``notes``, each case gets
        about 4 events (steps, then notes), else changed cases take exactly one step."""
        self.n += 1
        case_rows, events = [], []
        with self.engine.connect() as conn:
            templates = self.templates(conn)
            stored = self.open_cases(conn, changed) if changed else []
        for row in stored:
            k = STATUSES.index(row["status"])
            steps = self.rng.randint(1, min(3, 5 - k)) if notes else 1
            last = max([row.get("_at") or row["reported_at"]]
                       + [row[col] for col in STEP_COLS if row[col] is not None])
            seq = row.get("_seq") or 0
            org = row["grid_code"]
            for j in range(k + 1, k + steps + 1):
                last = last + timedelta(minutes=self.rng.randint(5, 240))
                row[STEP_COLS[j - 1]] = last
                row["status"] = STATUSES[j]
                seq += 1
                events.append(self._event(row["case_no"], seq, last, STEP_ACTIONS[j - 1], org))
            if row["status"] == "closed":
                row["resolution_level"] = self.rng.choice(LEVELS)
                row["satisfaction"] = self.rng.randint(3, 5)
            for _ in range(max(0, 4 - steps) if notes else 0):
                last = last + timedelta(minutes=self.rng.randint(1, 30))
                seq += 1
                events.append(self._event(row["case_no"], seq, last, "note", org, "跟进：已电话联系当事人"))
            case_rows.append([_cell(row[col]) for col in self.case_cols])
        start = NEW_FROM + timedelta(minutes=10 * self.n)
        for i in range(new):
            grid, category, source, title, desc, dept = self.rng.choice(templates)
            no = f"SB{self.tag}{self.n:04d}{i:05d}"
            reported = start + timedelta(seconds=self.rng.randint(0, 590))
            k = self.rng.randint(2, 4) if notes else 0
            times = [reported]
            for _ in range(k):
                times.append(times[-1] + timedelta(minutes=self.rng.randint(5, 240)))
            row = dict.fromkeys(self.case_cols)
            row.update(case_no=no, grid_code=grid, category=category, source=source, title=title, description=desc,
                       reporter_name=self._name(), reporter_phone=f"139{self.rng.randint(0, 99_999_999):08d}",
                       status=STATUSES[k], reported_at=reported, due_at=reported + timedelta(days=3),
                       department_code=dept, on_the_spot=False)
            for j in range(1, k + 1):
                row[STEP_COLS[j - 1]] = times[j]
            case_rows.append([_cell(row[col]) for col in self.case_cols])
            events.append(self._event(no, 1, reported, "report", grid))
            for j in range(1, k + 1):
                events.append(self._event(no, j + 1, times[j], STEP_ACTIONS[j - 1], grid))
        produced = self._produced_at()
        folder = _write_batch(self.folder / f"b{self.n:04d}", f"bench-{self.tag}-{self.n:04d}", produced,
                              {"cases.csv": (self.case_cols, case_rows),
                               "case_events.csv": (self.event_cols, events)})
        return folder, {"cases": len(case_rows), "new": new, "changed": len(stored), "events": len(events)}


# --- the databases -----------------------------------------------------------------------------------------------

def pg_db(server_url: str, name: str) -> str:
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def _admin(server_url: str):
    return create_engine(make_url(server_url).set(database="postgres"), isolation_level="AUTOCOMMIT")


def pg_copy(server_url: str, source: str, target: str) -> str:
    """``target`` as a fresh copy of the database ``source`` (CREATE DATABASE … TEMPLATE)."""
    admin = _admin(server_url)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)'))
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": source})
        conn.execute(text(f'CREATE DATABASE "{target}" TEMPLATE "{source}"'))
    admin.dispose()
    return pg_db(server_url, target)


def pg_fresh(server_url: str, name: str) -> str:
    admin = _admin(server_url)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return pg_db(server_url, name)


def pg_drop(server_url: str, name: str) -> None:
    admin = _admin(server_url)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def working_copy(url: str, tag: str = "sync") -> str:
    """A fresh copy of the dataset at ``url`` that a benchmark may change (the suite's own stays as built):
    bench/<name>.db → bench/<tag>-<name>.db; PostgreSQL database <name> → <name>_<tag> on the same server."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        src = Path(u.database)
        dst = src.with_name(f"{tag}-{src.name}")
        for p in dst.parent.glob(dst.name + "*"):
            p.unlink()
        with create_engine(url).connect() as conn:   # the WAL into the main file before copying it
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        shutil.copyfile(src, dst)
        return f"sqlite:///{dst}"
    return pg_copy(url, u.database, f"{u.database}_{tag}")


def drop_copy(url: str) -> None:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        for p in Path(u.database).parent.glob(Path(u.database).name + "*"):
            p.unlink()
    else:
        pg_drop(url, u.database)


# --dataset: the datasets the latency and readers parts can run on (bench/datasets.py builds them).  Only the
# suite's sample so far; a dataset shaped otherwise is added here by name with the function that makes it.
DATASETS = ("sample",)


def dataset_url(scale: str, backend: str, server_url: str, prefix: str, dataset: str = "sample") -> str:
    from bench import datasets

    if dataset not in DATASETS:
        raise SystemExit(f"--dataset: unknown dataset {dataset!r}; known: {', '.join(DATASETS)}")
    return datasets.ensure_sqlite(scale) if backend == "sqlite" else datasets.ensure_pg(scale, server_url, prefix)


def scale_of(url: str) -> str:
    """The scale of a dataset of bench/datasets.py from its URL (bench/<scale>.db, <prefix><scale>)."""
    u = make_url(url)
    name = Path(u.database).stem if u.get_backend_name() == "sqlite" else u.database
    return next((s for s in ("100k", "full", "5m") if name.endswith(s)), name)


def case_count(url: str) -> int:
    from data_access.core.db import get_engine
    from data_access.core.schema import cases

    with get_engine(url).connect() as conn:
        return conn.execute(select(func.count()).select_from(cases)).scalar_one()


# --- latency ---------------------------------------------------------------------------------------------------------

def _backend_pid(engine) -> int | None:
    """The PostgreSQL server process of the engine's one pooled connection (None on SQLite)."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as conn:
        return conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()


def _proc_cpu(pid: int | None) -> float:
    """CPU seconds (user + system) of a process on this machine, 0 for None or when it cannot be read."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def latency(url: str, runs: int, big_runs: int = 3, big_new: int = 6000, big_changed: int = 4000) -> dict:
    """Each batch's wall time and the CPU time spent on it: this process's and, on PostgreSQL, the server process
    of the connection (on a shared machine the wall time also holds the time spent waiting for a core)."""
    from data_access.core.db import make_engine
    from data_access.ingest.sync import sync_batch

    os.environ.setdefault("GOV_NOW", "2026-10-08T12:00:00")
    engine = make_engine(url)
    maker = BatchMaker(engine, WORK / f"latency-{os.getpid()}", seed=7)
    out: dict = {"db": url, "cases_before": case_count(url)}
    for label, new, changed, notes, n in (("one_case", 0, 1, False, runs),
                                          ("10k_cases", big_new, big_changed, True, big_runs)):
        times, cpus, shapes, applied = [], [], [], []
        for _ in range(n):
            folder, shape = maker.make(new, changed, notes)
            pid = _backend_pid(engine)
            c0, s0 = time.process_time(), _proc_cpu(pid)
            t0 = time.perf_counter()
            r = sync_batch(folder, engine)
            secs = time.perf_counter() - t0
            cpu = time.process_time() - c0 + _proc_cpu(pid) - s0
            if pid is not None and _backend_pid(engine) != pid:
                cpu = None   # another server process did part of it: not measured
            assert not r.already_applied and r.counts["cases"].inserted + r.counts["cases"].updated == shape["cases"], r
            times.append(secs)
            applied.append(r.applied_seconds)
            cpus.append(cpu)
            shapes.append({**shape, "slices": r.slices, "rollup_rows": r.rollup_rows, "cases_touched": r.cases_touched})
            print(f"  {label}: {shape['cases']} cases ({shape['new']} new), {shape['events']} events: {secs:.3f} s "
                  f"(CPU {cpu if cpu is None else round(cpu, 3)} s; committed at {r.applied_seconds:.3f} s), "
                  f"{r.slices} roll-up slices, "
                  f"{r.rollup_rows} roll-up rows changed", flush=True)
            shutil.rmtree(folder)
        known = [c for c in cpus if c is not None]
        out[label] = {"seconds": times, "median_s": statistics.median(times), "cpu_s": cpus,
                      # until the commit (the batch visible to every reader); the rest: what follows it
                      "applied_s": applied, "applied_median_s": statistics.median(applied),
                      "cpu_median_s": statistics.median(known) if known else None, "batches": shapes}
    out["cli_one_case_s"] = _cli_one(url, maker)
    out["cases_after"] = case_count(url)
    engine.dispose()
    return out


def _cli_one(url: str, maker: BatchMaker) -> float:
    """A batch of 1 case through ``python -m data_access sync`` (the interpreter's start and imports included)."""
    folder, _ = maker.make(0, 1, False)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "data_access", "--db", url, "sync", str(folder)], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    secs = time.perf_counter() - t0
    shutil.rmtree(folder)
    return secs


# --- readers beside a sync every 10 s --------------------------------------------------------------------------------

def feed(url: str, every: float, seconds: float, new: int, changed: int, out: Path) -> None:
    """Make and sync a batch every ``every`` s for ``seconds`` s; the times into ``out`` (JSON)."""
    from data_access.core.db import make_engine
    from data_access.ingest.sync import sync_batch

    engine = make_engine(url)
    maker = BatchMaker(engine, WORK / f"feed-{os.getpid()}", seed=11)
    times, errors = [], []
    t_end = time.monotonic() + seconds
    tick = time.monotonic()
    while time.monotonic() < t_end:
        folder, _ = maker.make(new, changed, True)
        t0 = time.perf_counter()
        try:
            sync_batch(folder, engine)
            times.append(time.perf_counter() - t0)
        except Exception as exc:  # noqa: BLE001 — counted and reported
            errors.append(repr(exc)[:300])
        shutil.rmtree(folder, ignore_errors=True)
        out.write_text(json.dumps({"sync_s": times, "errors": errors}))
        tick += every
        time.sleep(max(0.0, tick - time.monotonic()))
    engine.dispose()


def readers(url: str, seconds: float, every: float = 10.0, new: int = 25, changed: int = 25) -> dict:
    from bench import concurrency

    think = (3.0, 8.0)
    print(f"  readers alone, {seconds:.0f} s", flush=True)
    alone = concurrency.run(url, sessions=20, seconds=seconds, think=think)
    out_json = WORK / f"feed-{os.getpid()}.json"
    WORK.mkdir(parents=True, exist_ok=True)
    print(f"  readers beside a sync every {every:g} s, {seconds:.0f} s", flush=True)
    proc = subprocess.Popen([sys.executable, "-m", "bench", "sync", "--feed", url, "--every", str(every),
                             "--feed-seconds", str(seconds + 20), "--feed-cases", str(new), str(changed),
                             "--feed-out", str(out_json)], cwd=ROOT)
    try:
        beside = concurrency.run(url, sessions=20, seconds=seconds, think=think)
    finally:
        proc.wait(timeout=seconds + 120)
    fed = json.loads(out_json.read_text()) if out_json.exists() else {"sync_s": [], "errors": ["no feed output"]}
    out_json.unlink(missing_ok=True)
    keep = ("changes", "change_median_s", "change_p95_s", "change_max_s", "opens", "open_median_s", "open_p95_s",
            "errors", "errors_by_kind", "error_examples", "server_cpu_s")
    ratio = (beside["change_p95_s"] / alone["change_p95_s"]) if alone["change_p95_s"] else None
    return {"db": url, "seconds": seconds, "sessions": 20, "think_s": list(think), "every_s": every,
            "batch": {"new": new, "changed": changed},
            "alone": {k: alone[k] for k in keep}, "beside_sync": {k: beside[k] for k in keep},
            "p95_ratio": ratio, "syncs": len(fed["sync_s"]), "sync_errors": fed["errors"],
            "sync_median_s": statistics.median(fed["sync_s"]) if fed["sync_s"] else None,
            "sync_max_s": max(fed["sync_s"]) if fed["sync_s"] else None}


# --- equality: a run of batches against a full load of the end state ---------------------------------------------

DATED = {"volunteer_activities.csv": "date", "asset_project_months.csv": "month", "clean_unit_reviews.csv": "month"}
CASE_FILES = ("cases.csv", "case_events.csv", "supervisions.csv")


def _read(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def _when(s: str) -> datetime:
    """A cell's time, naive local (the sample writes +08:00 throughout); a month is its first day."""
    s = s.strip()
    if len(s) == 7:
        s += "-01"
    return datetime.fromisoformat(s[:19])


def split_into_batches(dataset: Path, out: Path, n: int, first_produced: datetime) -> list[Path]:
    """The dataset ``dataset`` as ``n`` batches: batch 0 the reference data; then one per time window, each case as it
    stood at the end of each window it changed in (a valid state: a prefix of its steps, or its final row), its
    events with the first batch that has the case, its orders when issued (unresolved) and when resolved."""
    from data_access.core.contract import FILES

    files = {s.name: _read(dataset / s.name) for s in FILES if (dataset / s.name).is_file()}
    ch, cases = files["cases.csv"]
    eh, events = files["case_events.csv"]
    ci = {c: i for i, c in enumerate(ch)}
    times = [_when(r[ci["reported_at"]]) for r in cases]
    t0 = min(times)
    t1 = max([_when(r[ci[c]]) for r in cases for c in ("reported_at", *STEP_COLS) if r[ci[c]]]
             + [_when(r[2]) for r in events])
    windows = n - 1
    span = (t1 - t0) / windows

    def win(t: datetime) -> int:   # 1 … windows
        if t < t0:
            return 1
        return min(windows, int((t - t0) / span) + 1)

    batches: list[dict[str, list]] = [defaultdict(list) for _ in range(n)]
    for name, (header, rows) in files.items():
        if name in CASE_FILES:
            continue
        if name in DATED:
            col = header.index(DATED[name])
            for r in rows:
                batches[win(_when(r[col]))][name].append(r)
        else:
            batches[0][name] = rows
    by_case = defaultdict(list)
    for r in events:
        by_case[r[0]].append(r)
    first_window: dict[str, int] = {}
    for r in cases:
        no = r[0]
        steps = [r[ci[c]] for c in STEP_COLS]
        changes = {win(_when(r[ci["reported_at"]]))} | {win(_when(s)) for s in steps if s}
        evs = sorted(by_case.get(no, []), key=lambda e: int(e[1]))
        changes |= {win(_when(e[2])) for e in evs}
        final_w = max(changes)
        sent_events = 0
        for w in sorted(changes):
            present = [bool(s) and win(_when(s)) <= w for s in steps]
            if w == final_w:
                row = r
            else:
                k = sum(present)
                if present != [True] * k + [False] * (5 - k):
                    continue   # not a state the contract accepts (a case settled on the spot): sent later
                row = list(r)
                for j, col in enumerate(STEP_COLS):
                    if not present[j]:
                        row[ci[col]] = ""
                row[ci["status"]] = STATUSES[k]
                if k < 5:
                    row[ci["resolution_level"]] = ""
                    row[ci["satisfaction"]] = ""
            first_window.setdefault(no, w)
            batches[w]["cases.csv"].append(row)
            upto = [e for e in evs[sent_events:] if win(_when(e[2])) <= w]
            batches[w]["case_events.csv"] += upto
            sent_events += len(upto)
        assert sent_events == len(evs), no
    if "supervisions.csv" in files:
        sh, orders = files["supervisions.csv"]
        si = {c: i for i, c in enumerate(sh)}
        for r in orders:
            w_issue = max(win(_when(r[si["issued_at"]])), first_window[r[si["case_no"]]])
            resolved = r[si["resolved_at"]]
            w_res = max(win(_when(resolved)), w_issue) if resolved else w_issue
            if w_res > w_issue:
                first = list(r)
                first[si["resolved_at"]] = ""
                batches[w_issue]["supervisions.csv"].append(first)
            batches[w_res]["supervisions.csv"].append(r)
    headers = {name: header for name, (header, _rows) in files.items()}
    folders = []
    for i, b in enumerate(batches):
        if not any(b.values()):
            continue
        folders.append(_write_batch(out / f"b{i:04d}", f"split-{i:04d}", first_produced + timedelta(minutes=i),
                                    {name: (headers[name], rows) for name, rows in b.items()}))
    return folders


def table_contents(engine) -> dict[str, list[tuple]]:
    """Every dataset table (with its derived columns) and every roll-up table, without the row times and ids."""
    from data_access.core import schema

    compared = [*schema.DATASET_TABLES, schema.case_summary, schema.case_summary_county, schema.process_summary,
                schema.grid_summary, schema.case_day_counts, schema.node_paths]
    out = {}
    with engine.connect() as conn:
        for t in compared:
            cols = [c for c in t.c if c.name not in schema.SYNC_STAMP_COLUMNS and c.name != "id"]
            out[t.name] = sorted((tuple(r) for r in conn.execute(select(*cols)).all()), key=repr)
    return out


def _differences(got: dict, want: dict) -> dict:
    diffs = {}
    for name in want:
        if got[name] != want[name]:
            a, b = set(got[name]), set(want[name])
            diffs[name] = {"only_synced": len(a - b), "only_loaded": len(b - a),
                           "examples_synced": [repr(x)[:400] for x in sorted(a - b, key=repr)[:3]],
                           "examples_loaded": [repr(x)[:400] for x in sorted(b - a, key=repr)[:3]]}
    return diffs


def _rounded(contents: dict) -> dict:
    """The tables with every float to 9 significant digits (the roll-ups' sums of hours were floats, added up in
    another order by a slice refresh than by a rebuild; since they are whole seconds, ``equal`` must hold)."""
    def r(v):
        return float(f"{v:.9g}") if isinstance(v, float) else v

    return {name: sorted((tuple(r(v) for v in row) for row in rows), key=repr) for name, rows in contents.items()}


def equality(scale: str, backend: str, server_url: str, prefix: str, n_batches: int) -> dict:
    from bench import datasets
    from data_access.core.clock import TZ
    from data_access.core.db import make_engine
    from data_access.ingest.loader import load_dataset
    from data_access.ingest.sync import sync_batch

    os.environ.setdefault("GOV_NOW", "2026-10-08T12:00:00")
    dataset = datasets.ensure_csv(scale)
    folder = WORK / f"split-{scale}-{backend}"
    if folder.exists():
        shutil.rmtree(folder)
    t0 = time.perf_counter()
    folders = split_into_batches(dataset, folder, n_batches, datetime.now(TZ).replace(microsecond=0))
    split_s = time.perf_counter() - t0
    if backend == "sqlite":
        paths = [BENCH / f"sync-eq-{scale}-{k}.db" for k in ("batches", "full")]
        for p in paths:
            for q in p.parent.glob(p.name + "*"):
                q.unlink()
        url_b, url_f = (f"sqlite:///{p}" for p in paths)
    else:
        url_b = pg_fresh(server_url, f"{prefix}eq_batches_{scale}")
        url_f = pg_fresh(server_url, f"{prefix}eq_full_{scale}")
    eb = make_engine(url_b)
    per_batch, rows = [], 0
    t0 = time.perf_counter()
    for f in folders:
        r = sync_batch(f, eb)
        per_batch.append(r.seconds)
        rows += r.rows
    sync_s = time.perf_counter() - t0
    print(f"  {len(folders)} batches synced in {sync_s:.0f} s (median {statistics.median(per_batch):.2f} s, "
          f"max {max(per_batch):.2f} s)", flush=True)
    ef = make_engine(url_f)
    t0 = time.perf_counter()
    load_dataset(dataset, ef)
    load_s = time.perf_counter() - t0
    got, want = table_contents(eb), table_contents(ef)
    diffs, rounded_diffs = _differences(got, want), _differences(_rounded(got), _rounded(want))
    eb.dispose()
    ef.dispose()
    shutil.rmtree(folder)
    result = {"scale": scale, "db": backend, "batches": len(folders), "rows_applied": rows,
              "tables_compared": {k: len(v) for k, v in want.items()}, "equal": not diffs, "differences": diffs,
              "equal_rounded": not rounded_diffs, "differences_rounded": rounded_diffs,
              "split_s": split_s, "sync_total_s": sync_s, "sync_median_s": statistics.median(per_batch),
              "sync_max_s": max(per_batch), "full_load_s": load_s}
    if backend == "pg":
        pg_drop(server_url, f"{prefix}eq_batches_{scale}")
        pg_drop(server_url, f"{prefix}eq_full_{scale}")
    else:
        for p in BENCH.glob(f"sync-eq-{scale}-*.db*"):
            p.unlink()
    return result


# --- the command --------------------------------------------------------------------------------------------------

def _save(scale: str, backend: str, key: str, result: dict) -> Path:
    """Into bench/results/sync-<scale>-<backend>.json (the suite's file of this part), beside the other keys."""
    RESULTS.mkdir(exist_ok=True)
    p = RESULTS / f"sync-{scale}-{backend}.json"
    old = json.loads(p.read_text()) if p.exists() else {}
    old[key] = result
    p.write_text(json.dumps(old, ensure_ascii=False, indent=1, default=str))
    print(f"  → {p.relative_to(ROOT)} [{key}]", flush=True)
    return p


def suite_part(url: str, runs: int, readers_seconds: float = 600) -> dict:
    """The suite's part (bench/suite.py) on the dataset at ``url``: the equality run at 100k (on its CSV), the
    latencies on a copy at full and 5m, and the readers beside a sync at full."""
    backend = "sqlite" if url.startswith("sqlite") else "pg"
    scale = scale_of(url)
    if scale == "100k":
        return {"equality": equality(scale, backend, url, "gov_bench_", 300)}
    copy = working_copy(url)
    try:
        out = {"latency": latency(copy, runs)}
        if scale == "full":
            out["readers"] = readers(copy, readers_seconds)
    finally:
        drop_copy(copy)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench sync", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", default="full", help="the suite's dataset for latency and readers (full, 5m, 100k)")
    ap.add_argument("--pg", default=PG_DEFAULT, help="a PostgreSQL server URL ('' for SQLite only)")
    ap.add_argument("--no-sqlite", action="store_true")
    ap.add_argument("--prefix", default="gov_bench_", help="PostgreSQL database names start with this")
    ap.add_argument("--dataset", default="sample",
                    help=f"the dataset of the latency and readers parts ({', '.join(DATASETS)})")
    ap.add_argument("--parts", default="latency,readers,equality")
    ap.add_argument("--runs", type=int, default=5, help="batches of 1 case (median)")
    ap.add_argument("--big-runs", type=int, default=3, help="batches of 10,000 cases (median)")
    ap.add_argument("--readers-seconds", type=float, default=600)
    ap.add_argument("--equality-scale", default="100k")
    ap.add_argument("--batches", type=int, default=300)
    ap.add_argument("--keep", action="store_true", help="keep the working copy of the dataset")
    ap.add_argument("--feed", help=argparse.SUPPRESS)
    ap.add_argument("--every", type=float, default=10.0, help=argparse.SUPPRESS)
    ap.add_argument("--feed-seconds", type=float, default=600, help=argparse.SUPPRESS)
    ap.add_argument("--feed-cases", type=int, nargs=2, default=(25, 25), help=argparse.SUPPRESS)
    ap.add_argument("--feed-out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.dataset not in DATASETS:
        ap.error(f"--dataset: unknown dataset {args.dataset!r}; known: {', '.join(DATASETS)}")
    if args.feed:
        feed(args.feed, args.every, args.feed_seconds, *args.feed_cases, Path(args.feed_out))
        return
    os.environ.update(GOV_AUTO_DEMO="0", GOV_NOW="2026-10-08T12:00:00")
    parts = [p for p in args.parts.split(",") if p]
    backends = ([] if args.no_sqlite else ["sqlite"]) + (["pg"] if args.pg else [])
    for backend in backends:
        if "latency" in parts or "readers" in parts:
            print(f"== sync · {args.scale} · {backend}: a working copy of the dataset", flush=True)
            url = working_copy(dataset_url(args.scale, backend, args.pg, args.prefix, args.dataset))
            try:
                if "latency" in parts:
                    print(f"== sync latency · {args.scale} · {backend}", flush=True)
                    _save(args.scale, backend, "latency", latency(url, args.runs, args.big_runs))
                if "readers" in parts:
                    print(f"== sync beside readers · {args.scale} · {backend}", flush=True)
                    _save(args.scale, backend, "readers", readers(url, args.readers_seconds))
            finally:
                if not args.keep:
                    drop_copy(url)
        if "equality" in parts:
            print(f"== sync equality · {args.equality_scale} · {backend}", flush=True)
            r = equality(args.equality_scale, backend, args.pg, args.prefix, args.batches)
            print(f"  equal: {r['equal']}, with floats to 9 digits: {r['equal_rounded']} "
                  f"{json.dumps(r['differences_rounded'], ensure_ascii=False)[:2000]}", flush=True)
            _save(args.equality_scale, backend, "equality", r)
    from bench import report

    report.write(RESULTS)


if __name__ == "__main__":
    main()
