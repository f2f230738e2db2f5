"""Command line: ``python -m data_access [--db URL] COMMAND …`` (init, check, load, sync, status, ready, export,
users, duplicates, time-limits, rules, escalate, warnings).

Exit codes: see :data:`EXIT_CODES` (also in ``--help`` and docs/OPERATIONS.md).
Subcommands are registered in :func:`build_parser`; add new ones there.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

SHOW_PROBLEMS = 50

EXIT_CODES = """exit codes:
  0  done (a batch applied before: nothing to do)
  1  the dataset or batch is invalid (each problem printed, nothing written), or a bad argument
     (export --since, time-limits, users, rules, escalate, duplicates, warnings: one line, nothing
     written)
  2  (load) the database already holds data: load --replace
  3  (status) no batch for longer than GOV_SYNC_STALE_MINUTES
  4  (load, sync) another load or sync is running (it is named: host, pid, since when); nothing was done
  5  (sync --watch) the database cannot be reached
  6  (ready) the database is missing or holds no data: the production start refuses it"""


def _engine(args):
    from data_access.core.db import get_engine

    return get_engine(args.db) if args.db else get_engine()


def _print_problems(problems: list[str], out=sys.stdout) -> None:
    for p in problems[:SHOW_PROBLEMS]:
        print(p, file=out)
    if len(problems) > SHOW_PROBLEMS:
        print(f"… and {len(problems) - SHOW_PROBLEMS} more", file=out)


def _refused(folder, exc, outcome: str) -> int:
    """A refused dataset or batch: its warnings, every problem (``file:line column: reason``), then what it means
    for the database; exit code 1."""
    for w in exc.warnings:
        print(f"warning: {w}")
    _print_problems(exc.problems)
    print(f"{folder}: {len(exc.problems)} problem(s); {outcome}", file=sys.stderr)
    return 1


def _print_result(verb: str, result) -> None:
    for w in result.warnings:
        print(f"warning: {w}")
    width = max((len(k) for k in result.counts), default=0)
    for table, n in result.counts.items():
        print(f"  {table:<{width}}  {n:>10,}")
    print(f"{verb} {sum(result.counts.values()):,} rows in {result.seconds:.1f} s")


def cmd_init(args) -> int:
    engine = _engine(args)
    print(f"schema ready: {engine.url.render_as_string(hide_password=True)}")
    return 0


def cmd_ready(args) -> int:
    """Whether the database can be served (deploy/run-production.sh asks before starting the app): a SQLite file
    that is not there is not created, an empty database is refused (the production profile builds no demo data,
    so an empty one is a wrong URL, a file that vanished, or data never loaded)."""
    import os

    from sqlalchemy.engine import make_url

    from data_access.core.db import default_url, is_empty

    url = make_url(args.db or default_url())
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:" \
            and not url.database.startswith("file:") and not os.path.exists(url.database):
        print(f"the database file {url.database} does not exist (moved or deleted?); nothing was created. Put it "
              "back, or create and load a database: python -m data_access init, then load DIR", file=sys.stderr)
        return EXIT_NOT_READY
    if is_empty(_engine(args)):
        print(f"the database {url.render_as_string(hide_password=True)} holds no data; the production profile "
              "never builds demo data. Load the data first: python -m data_access load DIR (or check GOV_DB_URL)",
              file=sys.stderr)
        return EXIT_NOT_READY
    print(f"ready: {url.render_as_string(hide_password=True)}")
    return 0


def cmd_check(args) -> int:
    from data_access.ingest.loader import DatasetInvalid, check_dataset

    try:
        result = check_dataset(Path(args.dir), _engine(args) if args.db else None)
    except DatasetInvalid as exc:
        return _refused(args.dir, exc, "the dataset is not valid")
    _print_result("checked", result)
    return 0


def cmd_load(args) -> int:
    from data_access.ingest.loader import DatabaseNotEmpty, DatasetInvalid, load_dataset

    def progress(fraction: float, message: str) -> None:
        if args.verbose:
            print(f"{fraction:6.1%}  {message}", file=sys.stderr)

    from data_access.ingest.watch import LockHeld, sync_lock

    engine = _engine(args)
    try:
        with sync_lock(engine, "load"):   # one load or sync at a time (a second one is refused, not left to fail)
            result = load_dataset(Path(args.dir), engine, replace=args.replace, progress=progress)
    except LockHeld as exc:
        print(f"{exc}; nothing was loaded, the database is unchanged", file=sys.stderr)
        return EXIT_LOCKED
    except DatabaseNotEmpty:
        print("The database already holds data; nothing was changed. "
              "Use `load DIR --replace` to replace it with this dataset.", file=sys.stderr)
        return 2
    except DatasetInvalid as exc:
        return _refused(args.dir, exc, "nothing was loaded, the database is unchanged")
    _print_result("loaded", result)
    return 0


def cmd_export(args) -> int:
    import time

    from data_access.core.clock import wall_now
    from data_access.ingest.exporter import export_dataset

    if args.since is not None:
        return _export_since(args)
    t0 = time.perf_counter()
    as_of = wall_now()
    counts = export_dataset(_engine(args), Path(args.dir))
    for table, n in counts.items():
        print(f"  {table:<22}  {n:>10,}")
    print(f"exported {sum(counts.values()):,} rows to {args.dir} in {time.perf_counter() - t0:.1f} s")
    print(f"as of {as_of:%Y-%m-%dT%H:%M:%S}+08:00: a follower loaded from it takes the changes with "
          f"`export --since {as_of:%Y-%m-%dT%H:%M:%S} DIR`")
    return 0


def _export_since(args) -> int:
    import time
    from datetime import datetime

    from data_access.ingest.converting import parse_ts
    from data_access.ingest.exporter import ExportRefused, export_batch

    try:
        since = datetime.fromisoformat(parse_ts(args.since.strip()))
    except ValueError as exc:
        print(f"error: --since: {exc}; nothing was written", file=sys.stderr)
        return 1
    t0 = time.perf_counter()
    try:
        result = export_batch(_engine(args), Path(args.dir), since)
    except ExportRefused as exc:
        print(f"error: {exc}; nothing was written", file=sys.stderr)
        return 1
    for table, n in result.counts.items():
        print(f"  {table:<22}  {n:>10,}")
    if result.deletions:
        print(f"  {'deletions':<22}  {result.deletions:>10,}")
    print(f"batch {result.batch_id}: {result.rows:,} rows changed since {since:%Y-%m-%d %H:%M:%S} written to "
          f"{args.dir} in {time.perf_counter() - t0:.2f} s (produced {result.produced_at:%Y-%m-%dT%H:%M:%S}+08:00: "
          "the next batch's --since)")
    return 0


EXIT_LOCKED = 4
EXIT_NOT_READY = 6
EXIT_NO_DATABASE = 5


def _print_sync_result(result) -> None:
    if result.already_applied:
        print(f"batch {result.batch_id} was applied already ({result.applied_at:%Y-%m-%d %H:%M:%S}); "
              "nothing changed")
        return
    for w in result.warnings:
        print(f"warning: {w}")
    width = max((len(t) for t in result.counts), default=0)
    for table, c in result.counts.items():
        parts = [f"{n:,} {what}" for what, n in vars(c).items() if n]
        print(f"  {table:<{width}}  {', '.join(parts) or 'nothing'}")
    print(f"applied batch {result.batch_id} (produced {result.produced_at:%Y-%m-%d %H:%M:%S}): "
          f"{result.rows:,} rows, {result.cases_touched:,} cases followed in {result.slices:,} roll-up slices, "
          f"in {result.seconds:.2f} s")


def cmd_sync(args) -> int:
    from data_access.ingest.sync import BatchRefused, sync_batch
    from data_access.ingest.watch import LockHeld, sync_lock

    if (args.dir is None) == (args.watch is None):
        print("error: give either a batch folder DIR or --watch INBOX", file=sys.stderr)
        return 1
    if args.watch is None and (args.once or args.interval is not None):
        print("error: --once and --interval go with --watch INBOX", file=sys.stderr)
        return 1
    if args.watch is not None:
        return _watch(args)
    engine = _engine(args)
    try:
        with sync_lock(engine):
            result = sync_batch(Path(args.dir), engine)
    except LockHeld as exc:
        print(f"{exc}; nothing was done", file=sys.stderr)
        return EXIT_LOCKED
    except BatchRefused as exc:
        return _refused(args.dir, exc, "the batch was refused, nothing was applied, the database is unchanged")
    _print_sync_result(result)
    return 0


def _watch(args) -> int:
    import signal

    from sqlalchemy.exc import OperationalError

    from data_access.ingest.watch import InboxError, LockHeld, WatchStopped, prepare_inbox, sync_lock, watch

    inbox = Path(args.watch)
    interval = 10.0 if args.interval is None else args.interval
    if interval <= 0:
        print("error: --interval: seconds, more than 0", file=sys.stderr)
        return 1
    # SIGTERM (systemctl stop) ends the watch like Ctrl-C: a batch being applied is rolled back, no traceback
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        prepare_inbox(inbox)
        engine = _engine(args)
        with sync_lock(engine):
            def done(name, result):
                print(f"{name}:")
                _print_sync_result(result)
                sys.stdout.flush()

            if not args.once:
                print(f"watching {inbox} every {interval:g} s (Ctrl-C to stop)", flush=True)
            watch(inbox, engine, once=args.once, interval=interval, on_result=done)
    except InboxError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except LockHeld as exc:
        print(f"{exc}; this watcher did not start", file=sys.stderr)
        return EXIT_LOCKED
    except OperationalError as exc:   # the database cannot be reached (or went away): a restart may find it back
        print(f"error: the database cannot be reached: {str(exc.orig or exc).strip().splitlines()[0]}",
              file=sys.stderr)
        return EXIT_NO_DATABASE
    except WatchStopped as exc:
        _print_problems(exc.problems)
        left = f"; left in the inbox: {', '.join(exc.left)}" if exc.left else ""
        print(f"batch {exc.batch} was refused ({len(exc.problems)} problem(s), nothing of it applied): moved to "
              f"{exc.moved_to}, report in {exc.report}.  The watch stopped: later batches may depend on it{left}. "
              "Send a corrected batch, then start the watch again.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0


EXIT_STALE = 3


def cmd_status(args) -> int:
    from data_access.core import batches

    engine = _engine(args)
    last = batches.last_batch(engine)
    limit = batches.stale_minutes()
    if last is None:
        print("no batch applied and no dataset loaded yet")
    else:
        what = "batch" if last.kind == "batch" else "full load"
        print(f"last {what}: {last.batch_id}  produced {last.produced_at:%Y-%m-%d %H:%M:%S}  "
              f"applied {last.applied_at:%Y-%m-%d %H:%M:%S}  rows {last.rows:,}")
        print(f"minutes since: {last.minutes_ago():.1f} (stale after {limit:g}: GOV_SYNC_STALE_MINUTES)")
    rejected = batches.rejected_batches(engine)
    if rejected:
        print(f"rejected batches: {len(rejected)}")
        for r in rejected:
            first = (r.report or "").splitlines()
            more = f" (and {len(first) - 1} more problem(s))" if len(first) > 1 else ""
            print(f"  {r.batch_id}  produced {r.produced_at:%Y-%m-%d %H:%M:%S}  refused "
                  f"{r.applied_at:%Y-%m-%d %H:%M:%S}: {first[0] if first else ''}{more}")
    else:
        print("rejected batches: none")
    if batches.is_stale(last):
        print("STALE: no batch for longer than GOV_SYNC_STALE_MINUTES", file=sys.stderr)
        return EXIT_STALE
    return 0


def _read_password(args, prompt: str = "password: ") -> str:
    """From stdin with --password-stdin (scripts), else asked twice without echo."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    import getpass

    first = getpass.getpass(prompt)
    if getpass.getpass("again: ") != first:
        raise ValueError("password: the two entries differ")
    return first


def cmd_users(args) -> int:
    from data_access.core.users import (
        AccountError,
        add_user,
        list_accounts,
        set_active,
        set_password,
        set_role,
        set_scope,
    )

    def ended(n: int) -> str:  # every change below ends the account's sessions (data_access/core/users.py)
        return f"; {n} session{'' if n == 1 else 's'} ended (signed out everywhere)"

    engine = _engine(args)
    try:
        if args.action == "list":
            df = list_accounts(engine)
            if df.empty:
                print("no accounts")
            for r in df.itertuples():
                state = "active" if r.active else "disabled"
                if r.locked_until is not None and str(r.locked_until) not in ("", "NaT", "None"):
                    state += f", wait until {r.locked_until}"
                print(f"{r.username:<20} {r.role:<7} {r.scope_code or '(all)':<12} {state:<10} "
                      f"{'demo ' if r.demo else ''}{r.display_name}  {r.email or ''}")
            return 0
        if args.action == "add":
            if args.no_password and not args.email:
                raise AccountError("email: required with --no-password (sign-in through the OIDC provider)")
            password = None if args.no_password else _read_password(args)
            acc = add_user(engine, args.username, display_name=args.name or args.username, role=args.role,
                           scope_code=args.scope, password=password, email=args.email)
            print(f"added {acc.username} ({acc.role}, {acc.scope_code or 'all regions'})")
        elif args.action in ("disable", "enable"):
            n = set_active(engine, args.username, args.action == "enable")
            print(f"{args.action}d {args.username}{ended(n)}")
        elif args.action == "set-password":
            n = set_password(engine, args.username, _read_password(args, "new password: "))
            print(f"password set for {args.username}; any lock is lifted{ended(n)}")
        elif args.action == "set-role":
            n = set_role(engine, args.username, args.role)
            print(f"role of {args.username} is now {args.role}{ended(n)}")
        elif args.action == "set-scope":
            if (args.scope is None) == (not args.all):
                raise AccountError("scope: give either a REGION_CODE or --all")
            n = set_scope(engine, args.username, None if args.all else args.scope)
            print(f"jurisdiction of {args.username} is now {args.scope or 'all regions'}{ended(n)}")
    except (AccountError, ValueError) as exc:
        print(f"error: {exc}; nothing was changed", file=sys.stderr)
        return 1
    return 0


def cmd_time_limits(args) -> int:
    from data_access.core import time_limits as tl

    engine = _engine(args)
    if args.action == "list":
        df = tl.category_time_limits(engine)
        if df.empty:
            print("no categories (load a dataset first)")
        for r in df.itertuples():
            if r.mode == "working_days":
                limit = f"{int(r.working_days)} working days (calendar limit {r.time_limit_hours:g} h not used)"
            else:
                limit = f"{r.time_limit_hours:g} h"
            print(f"{r.code:<16} {r.name_zh:<12} {r.mode:<13} {limit}")
        for year in tl.calendar_gaps_in_data(engine):
            print(f"warning: {year}: no holiday arrangement known (add it to {tl.OVERRIDES_PATH}); "
                  "working days are counted Monday to Friday")
        return 0
    if args.hours == (args.working_days is not None):
        print("error: give exactly one of --working-days N or --hours; nothing was changed", file=sys.stderr)
        return 1
    days = None
    if args.working_days is not None:
        try:
            days = int(args.working_days)
        except ValueError:
            print(f"error: working_days: not a whole number: {args.working_days!r}; nothing was changed",
                  file=sys.stderr)
            return 1
    try:
        changed = tl.set_rule(engine, args.category, working_days=days, actor=tl.cli_actor())
    except ValueError as exc:
        print(f"error: {exc}; nothing was changed", file=sys.stderr)
        return 1
    what = f"{days} working days" if days is not None else "calendar hours (the category's time limit)"
    print(f"{args.category}: time limit now {what}; {changed:,} cases got a new due time")
    for year in tl.calendar_gaps_in_data(engine):
        print(f"warning: {year}: no holiday arrangement known (add it to {tl.OVERRIDES_PATH}); "
              "working days are counted Monday to Friday")
    return 0


def _cli_admin():
    """Who runs the command line, as the admin the rules commands act for (audited under this name)."""
    from data_access.core.access import User
    from data_access.core.time_limits import cli_actor

    actor = cli_actor() or "cli"
    return User(actor, role="admin", username=actor)


def cmd_rules(args) -> int:
    from data_access.core import escalation as esc
    from data_access.writes import escalation
    from data_access.writes.workflow import WriteRefused

    engine = _engine(args)
    try:
        if args.action == "list":
            with engine.connect() as conn:
                rule_list = esc.rules(conn)
            if not rule_list:
                print("no rules")
            for r in rule_list:
                cond = (f"≥ {r.threshold:g} × the step's limit" if r.measure == "share"
                        else f"≥ {r.threshold:g} h past the limit")
                print(f"{r.rule_id:>4}  {'enabled ' if r.enabled else 'disabled'}  {r.grade:<7} {r.step:<8} {cond:<28} "
                      f"{r.category or '(all categories)':<18} {r.scope_code or '(all regions)':<12} {r.name}")
            return 0
        if args.action == "add":
            rid = escalation.add_rule(engine, _cli_admin(), name=args.name, step=args.step, measure=args.measure,
                                      threshold=args.threshold, grade=args.grade, category=args.category,
                                      scope_code=args.scope, enabled=args.enable)
            print(f"added rule {rid} (enabled)" if args.enable else
                  f"added rule {rid} (disabled: `escalate --dry-run --rule {rid}` previews it, "
                  f"`rules enable {rid}` turns it on)")
            return 0
        escalation.set_rule_enabled(engine, _cli_admin(), args.rule_id, args.action == "enable")
        print(f"rule {args.rule_id} {args.action}d")
        return 0
    except WriteRefused as exc:
        print(f"error: {exc}; nothing was changed", file=sys.stderr)
        return 1


def cmd_escalate(args) -> int:
    from datetime import datetime

    from data_access.ingest.converting import parse_ts
    from data_access.writes import escalation
    from data_access.writes.workflow import WriteRefused

    now = None
    if args.as_of:
        try:
            now = datetime.fromisoformat(parse_ts(args.as_of.strip()))
        except ValueError as exc:
            print(f"error: --as-of: {exc}; nothing was written", file=sys.stderr)
            return 1
    try:
        run = escalation.escalate(_engine(args), now, dry_run=args.dry_run, rule_ids=args.rule or None)
    except WriteRefused as exc:
        print(f"error: {exc}; nothing was written", file=sys.stderr)
        return 1
    for p in run.planned:
        action = f"{p['from_level']}→{p['to_level']}" if p["grade"] == "upgrade" else ""
        print(f"rule {p['rule_id']:>3}  {p['grade']:<7} {action:<18}{p['case_no']:<22} {p['step']:<8} "
              f"{p['hours']:8.1f} h (limit {p['limit_hours']:.1f} h)  {p['rule']}")
    for case_no, reason in run.skipped:
        print(f"not upgraded: {case_no} ({reason})")
    n_up = sum(p["grade"] == "upgrade" for p in run.planned)
    verb, up = ("would issue", "would move") if run.dry_run else ("issued", "moved")
    n_moved = n_up if run.dry_run else len(run.upgraded)
    print(f"{verb} {len(run.planned) - n_up:,} order(s)"
          + (f", {up} {n_moved:,} case(s) one level up" if n_up else "")
          + f" as of {run.now:%Y-%m-%d %H:%M}" + ("; nothing was written (--dry-run)" if run.dry_run else ""))
    return 0


def _date_arg(value: str | None, name: str):
    from datetime import date

    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{name}: not a date YYYY-MM-DD: {value!r}") from None


def cmd_duplicates(args) -> int:
    """Detect repeat cases (core/duplicates.py), print them, and store them as proposals (unless --dry-run)."""
    import csv
    import time

    from data_access.core.duplicates import detect_duplicates, store_proposals
    from data_access.core.filters import OutOfScope, Scope
    from data_access.core.regions import region_tree

    try:
        until, since = _date_arg(args.as_of, "--as-of"), _date_arg(args.since, "--since")
    except ValueError as exc:
        print(f"error: {exc}; nothing was written", file=sys.stderr)
        return 1
    if since is not None and until is not None and since > until:
        print(f"error: --since: {since} is after --as-of {until}; nothing was written", file=sys.stderr)
        return 1
    engine = _engine(args)
    scope = None
    if args.region is not None:
        code = args.region.strip()
        if code not in region_tree(engine).nodes:
            print(f"error: --region: no region or grid {code!r}; nothing was written", file=sys.stderr)
            return 1
        scope = Scope(None, code)
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        groups = detect_duplicates(engine, scope, since, until)
    except OutOfScope as exc:  # pragma: no cover - a code checked above
        print(f"error: --region: {exc}; nothing was written", file=sys.stderr)
        return 1
    rows = [(i, g.primary, c, f"{s:.4f}", "yes" if g.same_caller else "", g.village_code, g.category)
            for i, g in enumerate(groups, 1) for c, s in [(g.primary, g.score), *g.members.items()]]
    header = ("group", "primary", "case_no", "score", "same_caller", "village", "category")
    if args.format == "csv":
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    else:
        widths = [max([len(str(h)), *(len(str(r[i])) for r in rows)]) for i, h in enumerate(header)]
        for r in [header, *rows]:
            print("  ".join(f"{str(v):<{w}}" for v, w in zip(r, widths)).rstrip())
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    n_cases = sum(len(g.case_nos) for g in groups)
    summary = f"{len(groups):,} groups, {n_cases:,} cases in {seconds:.1f} s (CPU {cpu:.1f} s)"
    if args.dry_run:
        print(f"{summary}; nothing was written (--dry-run)", file=sys.stderr)
        return 0
    done = store_proposals(engine, groups, scope, since=since, until=until)
    print(f"{summary}; stored {done['proposed']:,} proposed groups ({done['skipped']:,} already decided; "
          f"{done['decided']:,} decided groups kept)", file=sys.stderr)
    return 0


WARNING_COLUMNS = ("kind", "level", "region_code", "region_name", "category", "first_day", "last_day", "observed",
                   "expected", "q_value", "severity")


def cmd_warnings(args) -> int:
    """The early warnings as of a day (computed now from the cases), at or below a region; --compute also
    stores them for the 风险预警 page (what the loader and sync do after each load and batch)."""
    import csv
    from datetime import date

    from data_access.core import warnings
    from data_access.core.regions import region_tree

    as_of = None
    if args.as_of:
        try:
            as_of = date.fromisoformat(args.as_of)
        except ValueError:
            print(f"--as-of: {args.as_of!r} is not a date YYYY-MM-DD", file=sys.stderr)
            return 1
    engine = _engine(args)
    tree = region_tree(engine)
    if args.region and args.region not in tree.nodes:
        print(f"--region: no region or grid {args.region!r}", file=sys.stderr)
        return 1
    if args.compute:
        r = warnings.refresh(engine, as_of)
        print(f"stored: {r.found} warning(s) as of {r.as_of or '-'} ({r.inserted} new, {r.updated} updated, "
              f"{r.retracted} retracted, {r.expired} expired) in {r.seconds:.1f} s", file=sys.stderr)
    df = warnings.as_frame(warnings.compute(engine, as_of))
    if args.region:
        df = df[[tree.contains(args.region, c) for c in df["region_code"]]] if len(df) else df
    df = df.assign(region_name=[tree.nodes[c].name if c in tree.nodes else "" for c in df["region_code"]])
    rows = [[("" if v is None or v != v else f"{v:.3g}" if isinstance(v, float) and k == "q_value" else
              f"{v:g}" if isinstance(v, float) else str(v)) for k, v in zip(WARNING_COLUMNS, r)]
            for r in df[list(WARNING_COLUMNS)].itertuples(index=False)]
    if args.format == "csv":
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(WARNING_COLUMNS)
        w.writerows(rows)
        return 0
    if not rows:
        print("no warnings")
        return 0
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(WARNING_COLUMNS)]
    for r in [list(WARNING_COLUMNS), *rows]:
        print("  ".join(c.ljust(n) for c, n in zip(r, widths)).rstrip())
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The whole command line; later subcommands (e.g. ``users``) are added here."""
    parser = argparse.ArgumentParser(prog="python -m data_access",
                                     description="Case database: schema, load, check and export.",
                                     epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", metavar="URL",
                        help="database URL (default: GOV_DB_URL or the embedded SQLite file)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("init", help="create or migrate the schema")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("check", help="validate a dataset folder without loading it")
    p.add_argument("dir", help="dataset folder (CSV files of docs/DATA_CONTRACT.md)")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("load", help="validate and load a dataset folder in one transaction",
                       epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dir", help="dataset folder (CSV files of docs/DATA_CONTRACT.md)")
    p.add_argument("--replace", action="store_true", help="replace the data already in the database")
    p.add_argument("-v", "--verbose", action="store_true", help="print progress")
    p.set_defaults(func=cmd_load)

    p = sub.add_parser("export", help="write the database as a dataset folder, or the rows changed since a time "
                                      "as a batch (--since)",
                       description="Without --since: every file of docs/DATA_CONTRACT.md, the whole dataset. "
                                   "With --since: a batch for another dashboard's `sync` (a province gathering "
                                   "its cities' changes): the rows changed at or after TIMESTAMP, deletions.csv "
                                   "and batch.json; a standby of the same database uses PostgreSQL streaming "
                                   "replication instead (docs/OPERATIONS.md).")
    p.add_argument("dir", help="target folder (full export: created if missing, files overwritten; "
                               "--since: new or empty)")
    p.add_argument("--since", metavar="TIMESTAMP",
                   help="YYYY-MM-DDTHH:MM:SS[+08:00] (no offset: Asia/Shanghai); inclusive: rows written in that "
                        "second are sent (again: a no-op for the follower). Use the full export's 'as of' time, "
                        "then each batch's produced_at")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("sync", help="check a batch of the source's changes and apply it in one transaction")
    p.add_argument("dir", nargs="?", help="batch folder: changed rows of the format's files, batch.json, deletions.csv")
    p.add_argument("--watch", metavar="INBOX",
                   help="apply each complete batch folder in INBOX, oldest first; move it to done/ or rejected/")
    p.add_argument("--once", action="store_true", help="with --watch: process what is there, then exit")
    p.add_argument("--interval", type=float, metavar="S", help="with --watch: seconds between looks (default 10)")
    p.set_defaults(func=cmd_sync)

    p = sub.add_parser("ready", help="exit code 6 unless the database exists and holds data (the production "
                                     "start asks this first)")
    p.set_defaults(func=cmd_ready)

    p = sub.add_parser("status", help="the last batch applied and the refused ones; exit code 3 when stale")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("users", help="manage the accounts that may sign in")
    us = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    a = us.add_parser("add", help="create an account (asks for the password)")
    a.add_argument("username")
    a.add_argument("--name", help="name shown in the app and written on orders (default: the username)")
    a.add_argument("--role", required=True, choices=["leader", "staff", "viewer", "admin"])
    a.add_argument("--scope", metavar="REGION_CODE", help="jurisdiction (default: all regions)")
    a.add_argument("--email", help="the e-mail the OpenID Connect provider reports for this person")
    a.add_argument("--no-password", action="store_true", help="sign-in only through the OIDC provider")
    a.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    us.add_parser("list", help="list accounts")
    for verb in ("disable", "enable"):
        d = us.add_parser(verb, help=f"{verb} an account (ends its sessions)")
        d.add_argument("username")
    sp = us.add_parser("set-password", help="set a new password (lifts a lock; ends the account's sessions)")
    sp.add_argument("username")
    sp.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    sr = us.add_parser("set-role", help="give an account another role (ends its sessions)")
    sr.add_argument("username")
    sr.add_argument("role", choices=["leader", "staff", "viewer", "admin"])
    ss = us.add_parser("set-scope", help="give an account another jurisdiction (ends its sessions)")
    ss.add_argument("username")
    ss.add_argument("scope", nargs="?", metavar="REGION_CODE", help="the region the account sees")
    ss.add_argument("--all", action="store_true", help="all regions")
    p.set_defaults(func=cmd_users)

    p = sub.add_parser("duplicates", help="find repeat cases (重复件) and store them as proposals for the "
                                          "supervision centre",
                       description="Cases of the same village and category within metrics.DUP_WINDOW_DAYS whose "
                                   "title and description are similar (character bigrams), or a re-call on the "
                                   "same matter (same phone, grid, category), grouped with a score.  Proposed "
                                   "groups are replaced; confirmed and rejected ones are kept.  One line per case "
                                   "of each group (the primary first); the summary goes to standard error.")
    p.add_argument("--as-of", metavar="DATE", help="only cases reported on or before DATE (YYYY-MM-DD)")
    p.add_argument("--since", metavar="DATE", help="only cases reported on or after DATE (YYYY-MM-DD)")
    p.add_argument("--region", metavar="CODE", help="only this region or grid (proposals elsewhere are kept)")
    p.add_argument("--format", choices=["table", "csv"], default="table", help="output (default: table)")
    p.add_argument("--dry-run", action="store_true", help="print the groups, store nothing")
    p.set_defaults(func=cmd_duplicates)

    p = sub.add_parser("time-limits", help="per-category time limits: calendar hours or working days")
    tls = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    tls.add_parser("list", help="every category with its time limit")
    ts = tls.add_parser("set", help="set a category's time limit (recomputes its cases' due times)")
    ts.add_argument("category", help="category code (see `time-limits list`)")
    ts.add_argument("--working-days", metavar="N", help="N working days after the report day (1-365)")
    ts.add_argument("--hours", action="store_true", help="back to the category's limit in calendar hours")
    p.set_defaults(func=cmd_time_limits)

    p = sub.add_parser("rules", help="escalation rules: automatic supervision orders (or 升级, one level up) on open "
                                     "cases past a limit")
    rs = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    rs.add_parser("list", help="every rule, enabled or not")
    ra = rs.add_parser("add", help="add a rule (disabled unless --enable)")
    ra.add_argument("--name", required=True, help="a short name, shown on the orders it issues")
    ra.add_argument("--step", required=True, choices=["accept", "dispatch", "handle", "feedback", "case"],
                    help="the step the open case is in (case: the whole case)")
    ra.add_argument("--measure", default="share", choices=["share", "hours_past"],
                    help="share: of the step's limit used (1 = the limit); hours_past: hours past the limit")
    ra.add_argument("--threshold", type=float, required=True, help="the share or the hours")
    ra.add_argument("--grade", "--action", dest="grade", required=True,
                    choices=["normal", "yellow", "red", "upgrade"],
                    help="the action: an order of this grade, or upgrade (升级: the case one level up)")
    ra.add_argument("--category", help="category code (default: every category)")
    ra.add_argument("--scope", metavar="REGION_CODE", help="only cases in this region (default: all)")
    ra.add_argument("--enable", action="store_true", help="enable it at once (default: disabled, for a preview)")
    for verb in ("enable", "disable"):
        d = rs.add_parser(verb, help=f"{verb} a rule")
        d.add_argument("rule_id", type=int)
    p.set_defaults(func=cmd_rules)

    p = sub.add_parser("escalate", help="apply the enabled escalation rules: issue the orders they call for, in "
                                        "one transaction (run after each sync or on a timer)")
    p.add_argument("--dry-run", action="store_true", help="list what would be issued; write nothing")
    p.add_argument("--as-of", metavar="TIMESTAMP", help="the clock of the pass (default: now)")
    p.add_argument("--rule", type=int, action="append", metavar="ID",
                   help="only this rule (repeatable); with --dry-run a disabled rule too (its preview)")
    p.set_defaults(func=cmd_escalate)

    p = sub.add_parser("warnings", help="the early warnings (风险预警) as of a day; --compute also stores them")
    p.add_argument("--as-of", metavar="DATE", help="YYYY-MM-DD (default: the last report day of the data)")
    p.add_argument("--region", metavar="CODE", help="only warnings at or below this region or grid")
    p.add_argument("--format", choices=["table", "csv"], default="table")
    p.add_argument("--compute", action="store_true",
                   help="also store them for the app's page (run after a load or sync, or on a schedule)")
    p.set_defaults(func=cmd_warnings)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
