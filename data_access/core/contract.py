"""The interchange format (docs/DATA_CONTRACT.md) as data.

One :class:`FileSpec` per CSV file, in load order (parents before children),
each with its columns in contract order.  The loader validates against these
(each cell: data_access/ingest/converting.py, which also addresses a row's columns
by these names) and the exporter writes them; rules that span columns or files
(references, timestamp order, status agreement, event sequences) live in
data_access/ingest/rules.py and case_rules.py.

A column is *required in the header* when its values are required (non-empty);
a column whose values are all optional may be left out of the file.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from data_access.core.metrics import REGION_LEVELS, RESOLUTION_LEVELS, SOURCES, STATUSES

# Value kinds: str (kept as is), int, float, bool, date (YYYY-MM-DD),
# ts (ISO 8601 timestamp, optional offset), month (YYYY-MM), enum.


@dataclass(frozen=True)
class Col:
    name: str
    kind: str = "str"
    required: bool = False          # empty cell is an error
    enum: tuple[str, ...] = ()
    min: float | None = None        # inclusive lower bound
    max: float | None = None        # inclusive upper bound
    gt: float | None = None         # exclusive lower bound
    default: object = None          # value stored for an empty cell (a NOT NULL column with a default)
    max_len: int | None = None      # text: most characters (None: text_max_len() by the column's name)

    def __post_init__(self) -> None:
        if self.kind == "str" and self.max_len is None:
            object.__setattr__(self, "max_len", text_max_len(self.name))


# The most characters of a text cell, by what it holds: generous for what people write, small enough that
# one cell can never stall a page (a 10 MB title froze the browser).  Checked by the loader, the sync and
# every write of the dashboard (data_access/writes/*), from here (issue 21, item 8; docs/DATA_CONTRACT.md).
TITLE_MAX, DESCRIPTION_MAX, NOTE_MAX, NAME_MAX, TEXT_MAX = 200, 5000, 2000, 100, 200


def text_max_len(name: str) -> int:
    if name == "title":
        return TITLE_MAX
    if name == "description":
        return DESCRIPTION_MAX
    if name == "note":
        return NOTE_MAX
    if name == "name" or name.startswith("name_") or name.endswith("_name"):
        return NAME_MAX
    return TEXT_MAX       # codes, phones, actors, operators, a team's focus


@dataclass(frozen=True)
class FileSpec:
    name: str                       # file name, e.g. "cases.csv"
    table: str                      # table in data_access.core.schema
    columns: tuple[Col, ...]
    optional: bool = False
    key: tuple[str, ...] = ()       # unique key (checked on load)
    order_by: tuple[str, ...] = ()  # export order (default: key)
    header_required: frozenset[str] = field(default_factory=frozenset)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def required_in_header(self) -> list[str]:
        return [c.name for c in self.columns if c.required or c.name in self.header_required]


STAFF_ROLES = ("chief_grid_leader", "grid_leader", "grid_worker", "grid_liaison", "micro_grid_leader")
ACTIVITY_KINDS = ("patrol", "anti_fraud", "mediation", "publicity", "epidemic", "cleanup", "care", "other")
EVENT_ACTIONS = ("report", "accept", "dispatch", "handle", "feedback", "close", "return", "reassign",
                 "escalate", "supervise", "reopen", "note")
SUPERVISION_GRADES = ("normal", "yellow", "red")
ORIGINS = ("source", "app")   # who wrote a supervision order: the source platform or the dashboard
# Extension requests (延期申请, extensions.csv): how the days count, the request's state, and the most days of each
# kind (more is a mistyped number, not an extension: the dashboard's form refuses the same, writes/extensions.py)
EXTENSION_DAY_KINDS = ("days", "working_days")
EXTENSION_STATUSES = ("requested", "approved", "refused")
EXTENSION_MAX_DAYS = {"days": 90, "working_days": 60}
EXTENSION_TEXT_MAX = 500   # a request's reason and a decision's note
ASSET_KINDS = ("land", "house", "historic_building", "state_asset", "factory", "shoreline", "mixed")
ASSET_UNITS = ("mu", "building", "item", "m", "m2")
# A batch folder's own files (the section "Batches and incremental sync"): its identity and its withdrawn rows.
BATCH_JSON = "batch.json"
DELETIONS_CSV = "deletions.csv"
DISPOSAL_MODES = ("use", "sell", "lease", "finance")
OPERATING_MODELS = ("self_operated", "fixed_rent", "guaranteed_plus_share", "sale", "other")
ASSET_STATUSES = ("planning", "renovating", "operating", "disposed", "suspended")
CLEAN_UNIT_KINDS = ("organ", "village", "enterprise", "school", "hospital", "other")
RATINGS = ("good", "fair", "poor")

# The case log's numbering (docs/DATA_CONTRACT.md, "Rows written in the dashboard"): the source's events are
# 1, 2, 3 … per case; the entries the dashboard writes (a supervision order's log entries) are APP_SEQ_BASE,
# APP_SEQ_BASE + 1 … per case, a run of their own, so the two never collide and the source's next event is
# always the one after its own last.
APP_SEQ_BASE = 1_000_000
# Each dashboard writes in a run of its own, APP_SEQ_BASE numbers long: run n is n × APP_SEQ_BASE … (n + 1) ×
# APP_SEQ_BASE − 1.  An installation's run is GOV_APP_LOG_RUN (default 1); one that follows other dashboards
# (a province syncing its cities' `export --since` batches) takes another, so that its entries and theirs on the
# same case never take the same number (docs/DATA_CONTRACT.md, "A batch of another dashboard").
APP_LOG_RUN_ENV = "GOV_APP_LOG_RUN"
MAX_APP_LOG_RUN = 2000   # seq is a 32-bit integer on PostgreSQL


def app_run(seq: int) -> int:
    """The run a log number is in: 0 for the source's events, n ≥ 1 for a dashboard's entries."""
    return seq // APP_SEQ_BASE


def own_app_run() -> int:
    """This installation's run (GOV_APP_LOG_RUN, 1 … MAX_APP_LOG_RUN; default 1)."""
    import os

    raw = os.environ.get(APP_LOG_RUN_ENV, "").strip() or "1"
    try:
        n = int(raw)
    except ValueError:
        n = 0
    if not 1 <= n <= MAX_APP_LOG_RUN:
        raise ValueError(f"{APP_LOG_RUN_ENV}: a whole number 1–{MAX_APP_LOG_RUN}, not {raw!r}")
    return n

# Case step timestamps in order; status k (index in STATUSES) means step k was the last entered.
CASE_STEP_COLUMNS = ("reported_at", "accepted_at", "dispatched_at", "handled_at", "feedback_at", "closed_at")


def _e(name: str, values: tuple[str, ...], required: bool = True) -> Col:
    return Col(name, "enum", required=required, enum=values)


FILES: tuple[FileSpec, ...] = (
    FileSpec("regions.csv", "regions", (
        Col("code", required=True), Col("name", required=True), _e("level", REGION_LEVELS),
        Col("parent_code"),
    ), key=("code",), header_required=frozenset({"parent_code"})),
    FileSpec("grids.csv", "grids", (
        Col("code", required=True), Col("name", required=True), Col("village_code", required=True),
        Col("parent_grid_code"), Col("households", "int", min=0), Col("population", "int", min=0),
        Col("lat", "float", min=-90, max=90), Col("lon", "float", min=-180, max=180),
    ), key=("code",)),
    FileSpec("staff.csv", "staff", (
        Col("staff_id", required=True), Col("name", required=True), _e("role", STAFF_ROLES),
        Col("grid_code"), Col("region_code"), Col("party_member", "bool"), Col("phone"),
        Col("active", "bool", default=True), Col("since", "date"),
    ), key=("staff_id",)),
    FileSpec("volunteer_teams.csv", "volunteer_teams", (
        Col("team_code", required=True), Col("name", required=True), Col("region_code", required=True),
        Col("grid_code"), Col("members", "int", required=True, min=0), Col("leader_name"),
        Col("founded_on", "date"), Col("focus"),
    ), key=("team_code",)),
    FileSpec("volunteer_activities.csv", "volunteer_activities", (
        Col("team_code", required=True), Col("date", "date", required=True), _e("kind", ACTIVITY_KINDS),
        Col("participants", "int", required=True, min=0), Col("hours", "float", required=True, min=0),
        Col("note"),
    ), optional=True, order_by=("id",)),
    FileSpec("departments.csv", "departments", (
        Col("code", required=True), Col("name", required=True), Col("region_code", required=True),
    ), key=("code",)),
    FileSpec("categories.csv", "categories", (
        Col("code", required=True), Col("name_zh", required=True), Col("name_en", required=True),
        Col("time_limit_hours", "float", required=True, gt=0),
    ), key=("code",)),
    FileSpec("cases.csv", "cases", (
        Col("case_no", required=True), Col("grid_code", required=True), Col("category", required=True),
        _e("source", SOURCES), Col("title", required=True), Col("description"), Col("reporter_name"),
        Col("reporter_phone"), _e("status", STATUSES), Col("reported_at", "ts", required=True),
        Col("accepted_at", "ts"), Col("dispatched_at", "ts"), Col("handled_at", "ts"),
        Col("feedback_at", "ts"), Col("closed_at", "ts"), Col("due_at", "ts", required=True),
        Col("department_code"), _e("resolution_level", RESOLUTION_LEVELS, required=False),
        Col("on_the_spot", "bool", default=False), Col("satisfaction", "int", min=1, max=5),
    ), key=("case_no",),
        # the status ⇔ timestamps rule cannot be checked without them
        header_required=frozenset({"accepted_at", "dispatched_at", "handled_at", "feedback_at", "closed_at",
                                   "resolution_level"})),
    FileSpec("case_events.csv", "case_events", (
        Col("case_no", required=True), Col("seq", "int", required=True, min=1), Col("at", "ts", required=True),
        _e("action", EVENT_ACTIONS), Col("actor"), Col("org_code"), Col("note"),
    ), key=("case_no", "seq")),
    FileSpec("supervisions.csv", "supervisions", (
        Col("supervision_id", required=True), Col("case_no", required=True), _e("grade", SUPERVISION_GRADES),
        Col("issued_by", required=True), Col("issued_at", "ts", required=True),
        Col("deadline", "ts", required=True), Col("resolved_at", "ts"), Col("note"), Col("issued_by_name"),
        Col("origin", "enum", enum=ORIGINS, default="source"),
    ), optional=True, key=("supervision_id",)),
    FileSpec("extensions.csv", "case_extensions", (
        Col("extension_id", required=True), Col("case_no", required=True), Col("unit_code"),
        Col("days", "int", required=True, min=1, max=max(EXTENSION_MAX_DAYS.values())),
        _e("day_kind", EXTENSION_DAY_KINDS), Col("reason", required=True, max_len=EXTENSION_TEXT_MAX),
        _e("status", EXTENSION_STATUSES), Col("requested_at", "ts", required=True), Col("requested_by"),
        Col("decided_at", "ts"), Col("decided_by"), Col("decision_note", max_len=EXTENSION_TEXT_MAX),
        Col("origin", "enum", enum=ORIGINS, default="source"),
    ), optional=True, key=("extension_id",)),
    FileSpec("asset_projects.csv", "asset_projects", (
        Col("project_code", required=True), Col("name", required=True), Col("region_code", required=True),
        _e("asset_kind", ASSET_KINDS), Col("quantity", "float", required=True, min=0), _e("unit", ASSET_UNITS),
        _e("disposal_mode", DISPOSAL_MODES), Col("operator"), _e("operating_model", OPERATING_MODELS),
        Col("guaranteed_min_wan", "float"), Col("revenue_share_pct", "float", min=0, max=100),
        Col("investment_wan", "float"), _e("status", ASSET_STATUSES), Col("started_on", "date"),
    ), optional=True, key=("project_code",)),
    FileSpec("asset_project_months.csv", "asset_project_months", (
        Col("project_code", required=True), Col("month", "month", required=True),
        Col("revenue_wan", "float", required=True, min=0), Col("visitors", "int", min=0),
    ), optional=True, key=("project_code", "month")),
    FileSpec("clean_units.csv", "clean_units", (
        Col("unit_code", required=True), Col("name", required=True), _e("kind", CLEAN_UNIT_KINDS),
        Col("region_code", required=True), Col("applied_on", "date"),
    ), optional=True, key=("unit_code",)),
    FileSpec("clean_unit_reviews.csv", "clean_unit_reviews", (
        Col("unit_code", required=True), Col("month", "month", required=True),
        Col("score", "float", required=True, min=0, max=100), _e("rating", RATINGS),
        Col("notified", "bool", default=False), Col("note"),
    ), optional=True, key=("unit_code", "month")),
)

BY_NAME = {f.name: f for f in FILES}


def max_len(table: str, column: str) -> int:
    """The most characters a text column of ``table`` may hold (the writes check theirs with it)."""
    for spec in FILES:
        if spec.table == table:
            for col in spec.columns:
                if col.name == column and col.max_len is not None:
                    return col.max_len
    raise KeyError(f"{table}.{column}: not a text column of the contract")
