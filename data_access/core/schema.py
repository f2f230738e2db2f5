"""Tables of the case database (SQLAlchemy Core).

One table per file of the interchange format (see docs/DATA_CONTRACT.md), plus
columns derived at load time that keep the hot queries free of joins:
every case carries the codes of its ancestors (province … village, top grid),
its report month, hours to close and whether it closed late (each derived
column's definition: data_access/core/derived.py).  ``case_summary``
is the month × township × category × status × resolution-level roll-up that
answers the Overview at any scale; it is maintained by every write path
(loader, ``data_access.writes.workflow``).

The free-text search index of ``cases`` is not in this metadata: migration 0006
creates it (FTS5 table and triggers on SQLite, GIN indexes on PostgreSQL; see
``data_access/core/search.py``), so a database made with ``metadata.create_all()``
cannot search.
"""
from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    false,
    text,
    true,
)
from sqlalchemy.dialects import sqlite

# Timestamps are naive Asia/Shanghai local time.  On SQLite they are stored as
# 'YYYY-MM-DD HH:MM:SS' (no microseconds) so that string comparison in SQL is
# exact and bulk loads can write the same text directly.
SQLITE_TS_FORMAT = "%(year)04d-%(month)02d-%(day)02d %(hour)02d:%(minute)02d:%(second)02d"
Timestamp = DateTime().with_variant(
    sqlite.DATETIME(
        storage_format=SQLITE_TS_FORMAT,
        regexp=r"(\d+)-(\d+)-(\d+) (\d+):(\d+):(\d+)",
    ),
    "sqlite",
)

# Hours-to-close histogram used for the median (see metrics.HOUR_BUCKET_EDGES).
N_HOUR_BUCKETS = 24
# Additive counts of the integrity checks and of the process (metrics.py defines each), in both summaries.
INTEGRITY_COLUMNS = ("n_fast_close", "n_no_feedback", "n_reopened", "n_rereported", "n_flagged",
                     "n_returned", "n_bounced", "sum_returns", "sum_reassigns")
# Additive counts of the outcome rates (三率: response, resolution, satisfaction; metrics.py defines each), in both
# summaries (migration 0023).
OUTCOME_COLUMNS = ("n_accepted", "n_accepted_in_time", "n_resolved", "n_satisfied")
# The steps whose time the supervision centre measures, and the buckets of step time ÷ step limit.
PROCESS_STEPS = ("accept", "dispatch", "handle", "feedback")
N_RATIO_BUCKETS = 8
# The region levels, top down: the tables that are counted by region carry one ``{level}_code`` column per
# level (:func:`_ancestor_columns`).
REGION_LEVELS = ("province", "city", "county", "township", "village")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)


def _ancestor_columns(down_to: str, **options) -> list[Column]:
    """``province_code`` … ``{down_to}_code``: the codes of a row's region and its ancestors, one String(32)
    column per level from the top (``options``, e.g. ``index=True``, apply to each)."""
    levels = REGION_LEVELS[:REGION_LEVELS.index(down_to) + 1]
    return [Column(f"{level}_code", String(32), **options) for level in levels]


regions = Table(
    "regions",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("name", Text, nullable=False),
    Column("level", String(16), nullable=False),
    Column("parent_code", String(32), ForeignKey("regions.code"), nullable=True, index=True),
)

grids = Table(
    "grids",
    metadata,
    Column("code", String(48), primary_key=True),
    Column("name", Text, nullable=False),
    Column("village_code", String(32), ForeignKey("regions.code"), nullable=False, index=True),
    Column("parent_grid_code", String(48), ForeignKey("grids.code"), nullable=True, index=True),
    Column("households", Integer),
    Column("population", Integer),
    Column("lat", Float),
    Column("lon", Float),
)

staff = Table(
    "staff",
    metadata,
    Column("staff_id", String(48), primary_key=True),
    Column("name", Text, nullable=False),
    Column("role", String(24), nullable=False),
    Column("grid_code", String(48), ForeignKey("grids.code"), nullable=True, index=True),
    Column("region_code", String(32), ForeignKey("regions.code"), nullable=True, index=True),
    Column("party_member", Boolean),
    Column("phone", Text),
    Column("active", Boolean, nullable=False, server_default=true()),
    Column("since", Date),
)

volunteer_teams = Table(
    "volunteer_teams",
    metadata,
    Column("team_code", String(48), primary_key=True),
    Column("name", Text, nullable=False),
    Column("region_code", String(32), ForeignKey("regions.code"), nullable=False, index=True),
    Column("grid_code", String(48), ForeignKey("grids.code"), nullable=True, index=True),
    Column("members", Integer, nullable=False),
    Column("leader_name", Text),
    Column("founded_on", Date),
    Column("focus", Text),
)

volunteer_activities = Table(
    "volunteer_activities",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("team_code", String(48), ForeignKey("volunteer_teams.team_code"), nullable=False),
    Column("date", Date, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("participants", Integer, nullable=False),
    Column("hours", Float, nullable=False),
    Column("note", Text),
    # a region's teams' activities in a period, and each team's last activity, by key (data_access/queries/volunteers.py)
    Index("ix_volunteer_activities_team_date", "team_code", "date"),
    # a period's activities counted by month, kind or team from the index alone (migration 0028: it replaced the
    # index on the date alone, which left every counted row to be read from the table)
    Index("ix_volunteer_activities_date_measures", "date", "kind", "team_code", "participants", "hours"),
)

departments = Table(
    "departments",
    metadata,
    Column("code", String(48), primary_key=True),
    Column("name", Text, nullable=False),
    Column("region_code", String(32), ForeignKey("regions.code"), nullable=False, index=True),
)

categories = Table(
    "categories",
    metadata,
    Column("code", String(48), primary_key=True),
    Column("name_zh", Text, nullable=False),
    Column("name_en", Text, nullable=False),
    Column("time_limit_hours", Float, nullable=False),
)

cases = Table(
    "cases",
    metadata,
    Column("case_no", String(64), primary_key=True),
    Column("grid_code", String(48), ForeignKey("grids.code"), nullable=False),
    Column("category", String(48), ForeignKey("categories.code"), nullable=False),
    Column("source", String(16), nullable=False),
    Column("title", Text, nullable=False),
    Column("description", Text),
    Column("reporter_name", Text),
    Column("reporter_phone", Text),
    Column("status", String(16), nullable=False),
    Column("reported_at", Timestamp, nullable=False),
    Column("accepted_at", Timestamp),
    Column("dispatched_at", Timestamp),
    Column("handled_at", Timestamp),
    Column("feedback_at", Timestamp),
    Column("closed_at", Timestamp),
    Column("due_at", Timestamp, nullable=False),
    Column("department_code", String(48), ForeignKey("departments.code"), nullable=True),
    Column("resolution_level", String(16)),
    Column("on_the_spot", Boolean, nullable=False, server_default=false()),
    Column("satisfaction", Integer),
    # --- derived at load time (not in the interchange format) ---
    *_ancestor_columns("village"),
    Column("top_grid_code", String(48)),
    Column("report_month", String(7), nullable=False),
    Column("hours_to_close", Float),
    Column("closed_late", Boolean),
    Column("late_hours", Float),  # closed cases: hours from due_at to closed_at (negative = early); open: NULL
    # The due time as the dataset gave it; ``due_at`` is the effective one under the time-limit rules
    # (data_access/core/time_limits.py): the same in calendar-hours mode, recomputed for working-day categories.
    Column("source_due_at", Timestamp),
    # Counts from the case's event log (case_events), kept by the loader and every write path.
    Column("n_returns", Integer, nullable=False, server_default=text("0")),  # 回退
    Column("n_reassigns", Integer, nullable=False, server_default=text("0")),  # 改派
    Column("n_reopens", Integer, nullable=False, server_default=text("0")),  # 重新打开
    # Closed, and the same reporter (phone) reported the same category in the same grid within
    # metrics.REREPORT_DAYS after it closed: the closure did not settle the matter.
    Column("rereported", Boolean, nullable=False, server_default=false()),
    # Hours allowed (due_at - reported_at) and spent reaching each step (derived.STEP_HOUR_COLUMNS; NULL = step
    # not reached), stored so that the process roll-up never evaluates timestamp arithmetic per case.
    Column("allowed_hours", Float),
    Column("accept_hours", Float),
    Column("dispatch_hours", Float),
    Column("handle_hours", Float),
    Column("feedback_hours", Float),
    Index("ix_cases_county_cat_reported", "county_code", "category", "reported_at"),
    Index("ix_cases_county_reported", "county_code", "reported_at", "township_code", "status"),
    Index("ix_cases_township_reported", "township_code", "reported_at"),
    Index("ix_cases_village_reported", "village_code", "reported_at"),
    Index("ix_cases_top_grid_reported", "top_grid_code", "reported_at"),
    Index("ix_cases_grid", "grid_code"),
    # The same matter (derived.same_matter_sql) and the report time: a case's re-reports are one range of it,
    # and ``source`` is there so that the range is read without the table (issue 24).  Leading with the phone,
    # it also finds every case of a phone (ingest/sync.py).
    Index("ix_cases_same_matter", "reporter_phone", "grid_code", "category", "reported_at", "source"),
    # Cases closed late (~7 %): with the open cases, the only ones that can have been overdue and open at a
    # past moment (the overdue-backlog trend and the ranking's backlog at month end).
    Index("ix_cases_late_closed", "closed_at", "due_at", "reported_at", "city_code", "county_code",
          "township_code", "village_code", "top_grid_code", "category",
          sqlite_where=text("late_hours > 0"), postgresql_where=text("late_hours > 0")),
    # Closed cases without a rating: the callback list (回访, core/callbacks.due_conditions) reads a range of
    # recent closings of it instead of every case (100 k cases: a scan of the table without it).
    Index("ix_cases_unrated_closed", "closed_at", sqlite_where=text("satisfaction IS NULL AND closed_at IS NOT NULL"),
          postgresql_where=text("satisfaction IS NULL AND closed_at IS NOT NULL")),
    # Cases reported again after closing (the repeat-case view's 办结后再次反映, queries/supervision/duplicates
    # .reported_again): a range of recent closings of the few re-reported cases (at 1.07 M cases on SQLite, 2 ms
    # where a county's 214,000 cases were read: 251 ms; migration 0026).
    Index("ix_cases_rereported_closed", "closed_at", sqlite_where=text("rereported = 1"),
          postgresql_where=text("rereported")),
    Index("ix_cases_returns", "n_returns", sqlite_where=text("n_returns > 0"),
          postgresql_where=text("n_returns > 0")),  # bounced cases (few)
    Index("ix_cases_reported", "reported_at"),
    # The cases open at some week end of the last weeks (the backlog trends of core/warnings.py): those still
    # open (closed_at NULL) and those closed since the first week end, two ranges of it read without the table
    # (at 1.07 M cases on SQLite, 0.15 s where a skip-scan of ix_cases_county_reported took 5.3 s; migration 0025).
    Index("ix_cases_closed_at", "closed_at", "reported_at", "due_at", "county_code", "township_code"),
    Index("ix_cases_due", "due_at"),
    Index("ix_cases_late", "late_hours"),  # the "most overdue first" sort of closed cases
    # Covers the raw-path aggregations (the days at the edges of a period), so they never touch the table; the
    # last three are the 三率's (rollups.outcome_flags: 受理 time and limit, reopened; migration 0023).
    Index("ix_cases_reported_cover", "reported_at", "city_code", "county_code", "township_code", "category",
          "status", "resolution_level", "on_the_spot", "closed_late", "hours_to_close", "satisfaction",
          "report_month", "accept_hours", "allowed_hours", "n_reopens"),
    Index("ix_cases_department", "department_code", "reported_at"),
    # Open cases are ~1 %: a partial index makes every open/overdue question cheap.  It leads with
    # reported_at so that SQLite prefers it over ix_cases_reported for a period filter, and it covers
    # the ancestor codes the Overview groups by.
    Index(
        "ix_cases_open",
        "reported_at",
        "due_at",
        "city_code",
        "county_code",
        "township_code",
        "village_code",
        "top_grid_code",
        sqlite_where=text("status <> 'closed'"),
        postgresql_where=text("status <> 'closed'"),
    ),
    # The open cases by due time: those not yet due are the only ones the Overview's overdue count reads
    # (counting.open_overdue_from_counts), from now on; covers its filters (migration 0021, issue 24).
    Index(
        "ix_cases_open_by_due",
        "due_at", "reported_at", "city_code", "county_code", "township_code", "village_code", "top_grid_code",
        "category", "status",
        sqlite_where=text("status <> 'closed'"),
        postgresql_where=text("status <> 'closed'"),
    ),
)

case_events = Table(
    "case_events",
    metadata,
    Column("case_no", String(64), ForeignKey("cases.case_no"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("at", Timestamp, nullable=False),
    Column("action", String(16), nullable=False),
    Column("actor", Text),
    Column("org_code", String(48)),
    Column("note", Text),
)

# Each return of a case between departments (回退): the department that returned it and the one it went to next (a
# return not re-dispatched yet has no row; core/derived.bounces_select, the definition; derive.derive_bounces keeps
# it for the loader, the sync and the workflow writes).  The supervision centre's bounces view counts department pairs
# from these rows instead of walking every route event of the returned cases (issue 24: 2.6 s at 5 M cases).
case_bounces = Table(
    "case_bounces",
    metadata,
    Column("case_no", String(64), primary_key=True),
    Column("seq", Integer, primary_key=True),   # the return's event
    Column("from_department", String(48), nullable=False),
    Column("to_department", String(48)),
)

supervisions = Table(
    "supervisions",
    metadata,
    Column("supervision_id", String(64), primary_key=True),
    Column("case_no", String(64), ForeignKey("cases.case_no"), nullable=False, index=True),
    Column("grade", String(8), nullable=False),
    Column("issued_by", String(32), ForeignKey("regions.code"), nullable=False),
    Column("issued_at", Timestamp, nullable=False),
    Column("deadline", Timestamp, nullable=False),
    Column("resolved_at", Timestamp),
    Column("note", Text),
    Column("issued_by_name", Text),  # the official who issued it (written by the dashboard; optional in files)
    # 'app': issued in the dashboard (its id DB + time + hex, its log entries seq >= contract.APP_SEQ_BASE);
    # 'source': the source platform's.  A batch never changes an app order; load --replace keeps them.
    Column("origin", String(8), nullable=False, server_default=text("'source'")),
    # The escalation rule that issued it (escalation_rules.rule_id; NULL: issued by hand or by the source).
    # Local to this installation: kept by load --replace (ingest/app_rows.py), not in the interchange format.
    Column("rule_id", Integer),
    # Open orders, nearest deadline first (the supervision list).
    Index("ix_supervisions_open", "deadline", sqlite_where=text("resolved_at IS NULL"),
          postgresql_where=text("resolved_at IS NULL")),
    # A case gets an order at most once per rule (a rule names one step): the escalation pass relies on it.
    Index("ix_supervisions_rule_case", "rule_id", "case_no", unique=True, sqlite_where=text("rule_id IS NOT NULL"),
          postgresql_where=text("rule_id IS NOT NULL")),
)

# Escalation rules (自动督办规则; core/escalation.py): for a category (NULL: all) and a step of an open case, a
# threshold past which ``python -m data_access escalate`` issues an order of the rule's grade, once per case.
escalation_rules = Table(
    "escalation_rules",
    metadata,
    Column("rule_id", Integer, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False),
    Column("category", String(48)),            # NULL: every category
    Column("step", String(16), nullable=False),  # escalation.RULE_STEPS
    Column("measure", String(16), nullable=False),  # escalation.MEASURES: share of the step's limit, hours past
    Column("threshold", Float, nullable=False),
    Column("grade", String(8), nullable=False),  # the action: an order's grade (SUPERVISION_GRADES) or 'upgrade' 
    Column("scope_code", String(32)),          # the cases it covers and the centre that issues (NULL: all)
    Column("enabled", Boolean, nullable=False, server_default=false()),
    Column("created_by", Text),
    Column("created_at", Timestamp, nullable=False),
    Column("changed_at", Timestamp, nullable=False),
)

# The cases an escalation rule of action ``upgrade`` (升级) moved one level up (core/escalation.py): one row per
# rule and case, so that a rule upgrades a case at most once; the move itself is the case's ``escalate`` log entry
# (writes/workflow.upgrade_case).  The app's own rows: no dataset table refers to it, a reload keeps it.
rule_upgrades = Table(
    "rule_upgrades",
    metadata,
    Column("rule_id", Integer, primary_key=True),
    Column("case_no", String(64), primary_key=True),
    Column("upgraded_at", Timestamp, nullable=False),
    Column("from_level", String(16), nullable=False),
    Column("to_level", String(16), nullable=False),
    Column("to_code", String(32), nullable=False),
    Index("ix_rule_upgrades_case", "case_no"),
)

asset_projects = Table(
    "asset_projects",
    metadata,
    Column("project_code", String(48), primary_key=True),
    Column("name", Text, nullable=False),
    Column("region_code", String(32), ForeignKey("regions.code"), nullable=False, index=True),
    Column("asset_kind", String(24), nullable=False),
    Column("quantity", Float, nullable=False),
    Column("unit", String(12), nullable=False),
    Column("disposal_mode", String(12), nullable=False),
    Column("operator", Text),
    Column("operating_model", String(32), nullable=False),
    Column("guaranteed_min_wan", Float),
    Column("revenue_share_pct", Float),
    Column("investment_wan", Float),
    Column("status", String(16), nullable=False),
    Column("started_on", Date),
)

asset_project_months = Table(
    "asset_project_months",
    metadata,
    Column("project_code", String(48), ForeignKey("asset_projects.project_code"), primary_key=True),
    Column("month", String(7), primary_key=True),
    Column("revenue_wan", Float, nullable=False),
    Column("visitors", Integer),
)

clean_units = Table(
    "clean_units",
    metadata,
    Column("unit_code", String(48), primary_key=True),
    Column("name", Text, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("region_code", String(32), ForeignKey("regions.code"), nullable=False, index=True),
    Column("applied_on", Date),
)

clean_unit_reviews = Table(
    "clean_unit_reviews",
    metadata,
    Column("unit_code", String(48), ForeignKey("clean_units.unit_code"), primary_key=True),
    Column("month", String(7), primary_key=True),
    Column("score", Float, nullable=False),
    Column("rating", String(8), nullable=False),
    Column("notified", Boolean, nullable=False, server_default=false()),
    Column("note", Text),
)

# --- derived tables ---------------------------------------------------------

def _summary_columns(with_township: bool) -> list:
    return [
        Column("month", String(7), nullable=False),
        *_ancestor_columns("township" if with_township else "county"),
        Column("category", String(48), nullable=False),
        Column("status", String(16), nullable=False),
        Column("resolution_level", String(16)),
        Column("n", Integer, nullable=False),
        Column("n_on_the_spot", Integer, nullable=False),
        Column("n_closed_late", Integer, nullable=False),
        Column("sum_seconds", BigInteger, nullable=False),  # whole seconds to close (rollups.seconds_sql)
        Column("n_satisfaction", Integer, nullable=False),
        Column("sum_satisfaction", Integer, nullable=False),
    ] + [Column(f"h{i}", Integer, nullable=False) for i in range(N_HOUR_BUCKETS)] + [
        Column(name, Integer, nullable=False, server_default=text("0")) for name in INTEGRITY_COLUMNS
    ] + [Column(name, Integer, nullable=False, server_default=text("0")) for name in OUTCOME_COLUMNS]


case_summary = Table(
    "case_summary",
    metadata,
    *_summary_columns(with_township=True),
    # every dimension of a difference's key after the month and place (migration 0029: the sync's lookups by key)
    Index("ix_case_summary_month", "month", "county_code", "township_code", "category", "status", "resolution_level"),
    Index("ix_case_summary_county", "county_code", "month"),
    Index("ix_case_summary_township", "township_code", "month"),
)

# The same roll-up one level coarser (≈ 10× fewer rows): answers the city and county views.
case_summary_county = Table(
    "case_summary_county",
    metadata,
    *_summary_columns(with_township=False),
    Index("ix_case_summary_county_month", "month", "county_code", "category", "status", "resolution_level"),
    Index("ix_case_summary_county_county", "county_code", "month"),
)

def _process_columns() -> list:
    cols = [
        Column("n", Integer, nullable=False),
        Column("n_closed", Integer, nullable=False),
        Column("n_on_time", Integer, nullable=False),
        Column("sum_returns", Integer, nullable=False),
        Column("sum_reassigns", Integer, nullable=False),
        Column("n_returned", Integer, nullable=False),
        Column("n_bounced", Integer, nullable=False),
    ]
    for step in PROCESS_STEPS:
        cols += [Column(f"{step}_n", Integer, nullable=False),
                 Column(f"{step}_within", Integer, nullable=False),
                 Column(f"{step}_seconds", BigInteger, nullable=False)]  # whole seconds
        cols += [Column(f"{step}_r{i}", Integer, nullable=False) for i in range(N_RATIO_BUCKETS)]
    # hours to handle (dispatch → handled): histogram for the median, per metrics.HOUR_BUCKET_EDGES
    cols += [Column(f"hh{i}", Integer, nullable=False) for i in range(N_HOUR_BUCKETS)]
    return cols


# Report month × township × category × department: step times against their limits, returns and
# reassignments (the supervision centre's roll-up; maintained like case_summary).
process_summary = Table(
    "process_summary",
    metadata,
    Column("month", String(7), nullable=False),
    *_ancestor_columns("township"),
    Column("category", String(48), nullable=False),
    Column("department_code", String(48)),
    *_process_columns(),
    Index("ix_process_summary_month", "month", "county_code", "township_code", "category", "department_code"),
    Index("ix_process_summary_township", "township_code", "month"),
)

# Every region and grid with the codes of its ancestors, one column per level (filled by the loader from
# ``regions`` and ``grids``; data_access/core/regions.py): staff, teams and grids join it to be counted by any
# level in SQL, as ``cases`` is through its own ancestor columns.
node_paths = Table(
    "node_paths",
    metadata,
    Column("code", String(48), primary_key=True),
    Column("level", String(16), nullable=False),
    *_ancestor_columns("village", index=True),
    Column("grid_code", String(48), index=True),  # the top grid (a micro-grid's grid; a grid itself)
)

# Report month × top grid: cases reported in each grid (the grid workers' workload), maintained like
# case_summary; the region columns let a region's grids be read without a join.
grid_summary = Table(
    "grid_summary",
    metadata,
    Column("month", String(7), nullable=False),
    *_ancestor_columns("village"),
    Column("top_grid_code", String(48), nullable=False),
    Column("n", Integer, nullable=False),
    Column("n_patrol", Integer, nullable=False),  # reported by the grid's own patrol (source 'patrol')
    # covering: a region's grids over a period are read from the index alone
    Index("ix_grid_summary_month", "month", "city_code", "county_code", "township_code", "village_code",
          "top_grid_code", "n", "n_patrol"),
    Index("ix_grid_summary_township", "township_code", "month"),
    Index("ix_grid_summary_grid", "top_grid_code", "month"),
)

# Every node of ``node_paths`` (region, grid, micro-grid) with what serves there, as of now: the staffing and
# volunteer pages' counts read it instead of joining 412,529 staff and 138,839 teams to their paths at a
# province (issue 24).  Kept by the loader (rebuilt) and the sync (the nodes a batch's staff, teams or grids
# touch; all of it after a change of the region tree) from one definition (core/rollups.py,
# ``structure_select``).  The app writes no staff, team or grid.
structure_summary = Table(
    "structure_summary",
    metadata,
    Column("code", String(48), primary_key=True),
    Column("level", String(16), nullable=False),
    *_ancestor_columns("village"),
    Column("grid_code", String(48)),  # the top grid (a micro-grid's grid; a grid itself), as node_paths
    Column("households", Integer, nullable=False),  # a grid's or micro-grid's own (grids), else 0
    Column("population", Integer, nullable=False),
    # active posts serving at the node itself (its grid, else its region), by role
    # (contract.STAFF_ROLES, in its order: core/rollups.py checks it; the contract imports this module's peers)
    *[Column(role, Integer, nullable=False) for role in ("chief_grid_leader", "grid_leader", "grid_worker",
                                                          "grid_liaison", "micro_grid_leader")],
    Column("staff", Integer, nullable=False),
    Column("party_members", Integer, nullable=False),
    # a grid's active grid workers with its micro-grids' (0 on other nodes): coverage and the workload
    Column("grid_workers_in_grid", Integer, nullable=False),
    Column("teams", Integer, nullable=False),  # volunteer teams serving at the node
    Column("members", Integer, nullable=False),
    Index("ix_structure_summary_city", "city_code", "level"),
    Index("ix_structure_summary_county", "county_code", "level"),
    Index("ix_structure_summary_township", "township_code", "level"),
    Index("ix_structure_summary_village", "village_code", "level"),
    Index("ix_structure_summary_grid", "grid_code"),
)

# Every volunteer team with the path of the place it serves (its grid, else its region: node_paths' columns)
# and its last activity: the volunteer pages count, group and list teams from it instead of joining 138,839
# teams to their paths and their activities at a province (issue 24).  Kept by the loader (rebuilt) and the
# sync (the teams of a batch's teams and activities; all of it after a change of the region tree) from one
# definition (core/rollups.py, ``team_select``).
team_summary = Table(
    "team_summary",
    metadata,
    Column("team_code", String(48), primary_key=True),
    Column("code", String(48), nullable=False),  # the place it serves (a node_paths code)
    Column("level", String(16), nullable=False),
    *_ancestor_columns("village"),
    Column("grid_code", String(48)),  # the top grid, as node_paths
    Column("name", Text, nullable=False),
    Column("members", Integer, nullable=False),
    Column("founded_on", Date),
    Column("focus", Text),
    Column("last_activity", Date),  # its latest activity's date (NULL: none)
    Index("ix_team_summary_city", "city_code"),
    Index("ix_team_summary_county", "county_code"),
    Index("ix_team_summary_township", "township_code"),
    Index("ix_team_summary_village", "village_code"),
    Index("ix_team_summary_grid", "grid_code"),
    Index("ix_team_summary_code", "code"),
)

# Report day × place × category: the cases reported, the early warnings' daily counts (core/warnings.py reads
# its 70-day window and its year of history here instead of from ``cases``), maintained like case_summary (the
# report month too, so that a (month, township) slice rebuild covers it).  Levels as the warnings test them:
# county, township, village and top grid (any may be NULL, as in ``cases``).
case_day_counts = Table(
    "case_day_counts",
    metadata,
    Column("month", String(7), nullable=False),
    Column("day", String(10), nullable=False),  # 'YYYY-MM-DD' of reported_at (sqlfn.day_of)
    Column("county_code", String(32)),
    Column("township_code", String(32)),
    Column("village_code", String(32)),
    Column("top_grid_code", String(48)),
    Column("category", String(48), nullable=False),
    Column("n", Integer, nullable=False),
    # covering: the warnings' window (a range of days) is read from the index alone
    Index("ix_case_day_counts_day", "day", "category", "county_code", "township_code", "village_code",
          "top_grid_code", "n"),
    Index("ix_case_day_counts_township", "township_code", "month"),
)

# Per-category time-limit rules (configuration, like users: a dataset load keeps them).  No row = the
# category's limit in calendar hours; 'working_days' = N working days (data_access/core/time_limits.py).
time_limit_rules = Table(
    "time_limit_rules",
    metadata,
    Column("category", String(48), primary_key=True),
    Column("mode", String(16), nullable=False),
    Column("working_days", Integer),
    Column("updated_at", Timestamp, nullable=False),
    Column("updated_by", Text),
)

# Extension requests (延期申请; data_access/writes/extensions.py): a handling unit asks for more time on an open
# case, a leader or staff member of the case's jurisdiction approves or refuses.  The approved ones are part of
# the due time's one definition (core/time_limits.apply_rules: the rule's due time + the approved days).  Not a
# dataset table (no foreign key, so a replacing load's TRUNCATE of cases is not blocked): a load keeps them
# (ingest/loader.py checks their cases are still there).
case_extensions = Table(
    "case_extensions",
    metadata,
    Column("extension_id", String(64), primary_key=True),
    Column("case_no", String(64), nullable=False, index=True),
    Column("unit_code", String(48)),               # the handling unit (department) that asks
    Column("days", Integer, nullable=False),        # > 0
    Column("day_kind", String(16), nullable=False),  # 'days' (calendar) or 'working_days'
    Column("reason", Text, nullable=False),
    Column("status", String(12), nullable=False),   # 'requested', 'approved', 'refused'
    Column("requested_at", Timestamp, nullable=False),
    Column("requested_by", Text),
    Column("requested_by_user", Text),              # the account (username) that recorded it
    Column("decided_at", Timestamp),
    Column("decided_by", Text),
    Column("decided_by_user", Text),
    Column("decision_note", Text),
    Column("changed_at", Timestamp, nullable=False),
    # 'app': made in the dashboard (writes/extensions.py; ids EX + time + hex); 'source': the source platform's,
    # from extensions.csv.  As for the orders: a batch never changes or deletes an app request, load --replace
    # keeps them (docs/DATA_CONTRACT.md, "Rows written in the dashboard").
    Column("origin", String(8), nullable=False, server_default=text("'source'")),
    # the row time (as the dataset tables' produced_at): a batch row older than the stored one is skipped
    Column("produced_at", Timestamp),
    Index("ix_case_extensions_approved", "case_no", sqlite_where=text("status = 'approved'"),
          postgresql_where=text("status = 'approved'")),
)

# One-row table: when the data was last changed (the "data as of" time) and by what.
data_meta = Table(
    "data_meta",
    metadata,
    Column("key", String(32), primary_key=True),
    Column("value", Text),
)

# Officials who may sign in (not part of the interchange format; a load never touches them, except that
# loading a dataset removes the demo accounts, which only the sample-data builder creates).
users = Table(
    "users",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("display_name", Text, nullable=False),
    Column("email", String(254), unique=True),  # the OpenID Connect identity, when a provider is configured
    Column("role", String(8), nullable=False),
    Column("scope_code", String(32)),  # jurisdiction: a region code (its whole subtree); NULL = everything
    Column("password_hash", Text),  # argon2id; NULL = no password sign-in (OIDC or demo accounts)
    Column("active", Boolean, nullable=False, server_default=true()),
    Column("demo", Boolean, nullable=False, server_default=false()),
    Column("failed_count", Integer, nullable=False, server_default=text("0")),
    Column("locked_until", Timestamp),  # no attempt before this time (slow-down or lock)
    Column("created_at", Timestamp, nullable=False),
    Column("password_changed_at", Timestamp),
    Column("last_sign_in_at", Timestamp),
)

# Signed-in browser sessions: a reload of the tab resumes its session from a cookie holding a random token;
# only the token's SHA-256 is stored.  Sign-out revokes it; so does any change of the account (password, role,
# jurisdiction, enabled state: ended_reason "account"); it lapses after the idle limit or the maximum age.
user_sessions = Table(
    "user_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("username", String(64), nullable=False, index=True),
    Column("created_at", Timestamp, nullable=False),
    Column("last_seen_at", Timestamp, nullable=False),
    Column("expires_at", Timestamp, nullable=False),
    Column("revoked_at", Timestamp),
    Column("ended_reason", String(16)),  # why it was revoked: "user" (sign-out, idle) or "account" (changed)
)

# One-time grants by which the page has the server set the (HttpOnly) session cookie (ui/session_cookie.py):
# the page holds the grant, the server redeems it once within a minute for the session token.  Neither is kept
# in clear: the grant's SHA-256, and the token sealed with a key derived from the grant.
session_grants = Table(
    "session_grants",
    metadata,
    Column("grant_hash", String(64), primary_key=True),
    Column("sealed", String(64), nullable=False),
    Column("expires_at", Timestamp, nullable=False),
)

# Who did what: sign-ins (and failures), sign-outs, exports and writes.  Append-only.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Timestamp, nullable=False),
    Column("event", String(24), nullable=False),
    Column("username", String(64)),  # as typed for a failed sign-in; NULL for the system
    Column("role", String(8)),
    Column("scope_code", String(32)),  # the actor's jurisdiction at the time
    Column("target", Text),  # a case number, an order, a user, a file name
    Column("rows", Integer),  # rows exported
    Column("detail", Text),  # JSON: the filter of an export, the reason of a refusal, …
    Index("ix_audit_log_at", "at"),
    Index("ix_audit_log_username", "username", "at"),
)

# Repeat cases (重复件): groups of cases that report the same matter, proposed by core/duplicates.py and decided by
# staff (writes/duplicates.py).  Not part of the interchange format: a load keeps them (like users), and no foreign
# key ties them to ``cases`` (a load truncates the dataset's tables); a case gone from the data drops out of the
# lists, which join to ``cases``.  The primary is the group's earliest report; every other member is its duplicate.
DUPLICATE_STATES = ("proposed", "confirmed", "rejected")
duplicate_groups = Table(
    "duplicate_groups",
    metadata,
    Column("group_id", Integer, primary_key=True, autoincrement=True),
    Column("primary_case_no", String(64), nullable=False, index=True),
    Column("village_code", String(32), nullable=False, index=True),  # every member's village (the block)
    Column("category", String(48), nullable=False),
    Column("score", Float, nullable=False),  # the lowest member score: how sure the whole group is
    Column("same_caller", Boolean, nullable=False, server_default=false()),  # a re-call (derived.same_matter)
    Column("state", String(12), nullable=False, server_default=text("'proposed'")),
    Column("detected_at", Timestamp, nullable=False),
    Column("decided_by", Text),
    Column("decided_at", Timestamp),
    Column("note", Text),
    Index("ix_duplicate_groups_state", "state", "score"),
)
duplicate_members = Table(
    "duplicate_members",
    metadata,
    Column("group_id", Integer, ForeignKey("duplicate_groups.group_id", ondelete="CASCADE"), primary_key=True),
    Column("case_no", String(64), primary_key=True),
    Column("score", Float),  # the member's best pair score in the group; NULL for the primary
    Index("ix_duplicate_members_case", "case_no"),
)

# Callbacks (回访): a staff member rang the reporter of a closed case and recorded their satisfaction (writes/
# callbacks.py).  The app's own record, not part of the interchange format: a load keeps it (like users), no foreign
# key ties it to ``cases``, and the load and the sync put an active callback's rating back on its case when the
# source's row has none (core/callbacks.py; docs/DATA_CONTRACT.md, "Callbacks"). ``closed_at`` is the closing it
# rates: a case reopened and closed again is not rated by it any more.
callbacks = Table(
    "callbacks",
    metadata,
    Column("callback_id", Integer, primary_key=True, autoincrement=True),
    Column("case_no", String(64), nullable=False),
    Column("closed_at", Timestamp, nullable=False),
    Column("rating", Integer, nullable=False),
    Column("note", Text),
    Column("recorded_by", Text, nullable=False),   # the account (audit.py's username)
    Column("recorded_at", Timestamp, nullable=False),
    Column("undone_by", Text),
    Column("undone_at", Timestamp),                 # NULL: in effect
    Index("ix_callbacks_case", "case_no"),
)

# --- incremental sync (docs/DATA_CONTRACT.md, "Batches and incremental sync") -------------------------

# Every batch applied or rejected, and every full load (data_access/ingest/sync.py, loader.py).
sync_batches = Table(
    "sync_batches",
    metadata,
    Column("batch_id", String(128), primary_key=True),
    Column("kind", String(8), nullable=False),  # 'batch' (sync) or 'load' (a full load)
    Column("produced_at", Timestamp, nullable=False),  # the source's time of the batch (a load: see loader.py)
    Column("applied_at", Timestamp, nullable=False),  # when it was applied or refused here (wall clock)
    Column("rows", Integer, nullable=False, server_default=text("0")),  # rows written (0 when refused)
    Column("status", String(8), nullable=False),  # 'applied', 'loaded', 'rejected'
    Column("source", Text),  # the folder's name
    Column("report", Text),  # what it did (counts, rows skipped as older) or every problem, one a line
    Index("ix_sync_batches_applied", "applied_at"),
)

# Rows a batch deleted (deletions.csv): an older batch's row never brings them back, and a later export of the
# changes since a time can carry the deletion on.
sync_deletions = Table(
    "sync_deletions",
    metadata,
    Column("table_name", String(32), primary_key=True),
    Column("row_key", Text, primary_key=True),  # the key as deletions.csv writes it (compound: parts joined by |)
    Column("produced_at", Timestamp, nullable=False),
    Column("deleted_at", Timestamp, nullable=False),
)

# The sync columns of the dataset's tables, added to each below:
# - ``produced_at``: the row time of what last wrote the row (a batch's produced_at; a full load's batch.json
#   produced_at, else the time of the load; a write in the dashboard: its time).  A batch row older than it is
#   skipped.  NULL for rows loaded before these columns existed: older than any batch.
# - ``changed_at``: when the row was last written in this database (wall clock): the rows changed since a time.
# Events are only ever appended (a batch compares an event by content, never by time): ``changed_at`` only.
SYNC_STAMP_COLUMNS = ("produced_at", "changed_at")

DATASET_TABLES = [
    regions,
    grids,
    staff,
    volunteer_teams,
    volunteer_activities,
    departments,
    categories,
    cases,
    case_events,
    supervisions,
    asset_projects,
    asset_project_months,
    clean_units,
    clean_unit_reviews,
]


def stamp_columns(table: Table) -> tuple[str, ...]:
    """The sync columns of a dataset table (SYNC_STAMP_COLUMNS; ``case_events``: ``changed_at`` only)."""
    return ("changed_at",) if table.name == "case_events" else SYNC_STAMP_COLUMNS


for _t in DATASET_TABLES:
    for _name in stamp_columns(_t):
        _t.append_column(Column(_name, Timestamp))
del _t, _name

# ``export --since`` reads the rows changed since a time: on the two large tables an index makes its cost follow
# the change, not the database (a full load stamps every row alike; a batch or a write touches only its rows).
Index("ix_cases_changed", cases.c.changed_at)
Index("ix_case_events_changed", case_events.c.changed_at)

# --- early warnings (风险预警, data_access/core/warnings.py) ------------------------------------------------
# What the warning engine found as of a day, kept so that the page reads them at once; recomputed after each
# load and sync (or ``python -m data_access warnings --compute``).  A warning is one (kind, region, category,
# first day); a recomputation updates its numbers and keeps the state that staff set.
warnings = Table(
    "warnings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # surge, backlog, overdue, new_category, silent (warnings.KINDS)
    Column("region_code", String(48), nullable=False),  # a region or a top grid code
    Column("level", String(16), nullable=False),  # county, township, village or grid
    Column("category", String(48), nullable=False, server_default=text("''")),  # '' = every category
    Column("first_day", Date, nullable=False),  # since when
    Column("last_day", Date, nullable=False),  # the last day it was seen
    Column("observed", Float, nullable=False),  # what was seen (cases over first … last day, or the backlog now)
    Column("expected", Float, nullable=False),  # what the place's history expects for the same days
    Column("lower", Float),  # the usual range of the last day (95 %)
    Column("upper", Float),
    Column("p_value", Float),
    Column("q_value", Float),  # after the false-discovery control over every series tested that day
    Column("severity", Float, nullable=False),  # the ranking score (warnings.severity)
    Column("state", String(16), nullable=False, server_default=text("'new'")),  # warnings.STATES
    Column("state_note", Text),
    Column("state_by", String(64)),
    Column("state_at", Timestamp),
    Column("computed_at", Timestamp, nullable=False),  # the wall-clock time of the computation
    Column("as_of", Date, nullable=False),  # the data day it was computed for
    Index("ix_warnings_key", "kind", "region_code", "category", "first_day", unique=True),
    Index("ix_warnings_last_day", "last_day"),
)
