"""Repeat cases (重复件): which cases report a matter already reported, grouped with a similarity score.

Two cases are a **candidate pair** when they lie in the same block — the same village (this project's "same grid
or adjacent": the region data has no grid adjacency, only each grid's village, so the grids of one village count
as neighbours) and the same category — and the later was reported within ``metrics.DUP_WINDOW_DAYS`` of the
earlier.  A pair is **proposed** when

- they name the same place, as far as their titles tell (:func:`places_agree`): the numbers one title names
  are all in the other's, or the other way round ("3组" and "5组", "10栋" and "17栋" are different places,
  whatever the rest says), and when a title names no number at all, its grid is the only place known, so
  both cases must lie in the same grid; and
- its text is similar: the Jaccard index of the two cases' character bigrams (spaces and punctuation dropped)
  is at least ``metrics.DUP_MIN_SCORE``, taken over the titles or over title and description, whichever is
  higher (:func:`similarity`: a description written in each channel's own formula — a hotline operator's,
  a walk-in clerk's — must not hide a repeat the titles show, nor a shared formula make one), and, when both
  titles name a place, what they say after it is one matter (:func:`matters_agree`: the bigram Jaccard of what
  follows each title's last number at least ``metrics.DUP_MIN_MATTER``; "9组3号邻居因噪音扰民" and "9组3号两户
  村民因宅基地界址发生口角" share the place's bigrams and a channel's formula, not the matter); or
- it is a **re-call** (来电重复): the same matter by the project's one definition (derived.same_matter: the same
  reporter phone, grid and category, as the re-report flag uses) and the later is not a patrol report (a grid
  worker's phone is on every patrol report of the grid, as in derived.rereport_after_close_sql).

The place rule was added with the benchmark (``python -m bench duplicates``, docs/PERFORMANCE.md "Repeat
cases"): without it a frequent caller's reports of different places of one village and category, a week
apart, were proposed as re-calls, and template titles of different places as similar texts (a report that
names no place, of a micro-grid say, matched every report of its village).

Proposed pairs are joined into groups (connected components); a group's **primary** is its earliest report
(then the lowest case number), every other member its duplicate.  A member's score is its best pair score
in the group (a re-call pair scores 1: the same matter by definition), the group's score the lowest of
those: how sure the whole group is.

Cost at 1.07 M cases: SQL only orders the cases by block and report time (one pass, streamed); Python keeps,
per block, the earlier cases still inside the window and compares each new case with at most
``metrics.DUP_MAX_COMPARE`` of them (the most recent).  A skewed block (a grid with a tenth of all cases, a
phone on thousands) therefore costs at most that many comparisons a case, never a square; the price is that
a repeat more than ``DUP_MAX_COMPARE`` reports later in the same village and category within the window is
not found.  The benchmark (bench/) measures precision and recall against the sample's ground truth.

Entry points: :func:`detect_duplicates` (the groups, nothing written: what a benchmark calls),
:func:`group_pairs` (every pair inside the groups: what precision and recall are counted on, by
:func:`precision_recall`) and
:func:`store_proposals` (writes the groups as proposals, keeping every decision staff have made).
"""
from __future__ import annotations

import re
import unicodedata
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Connection, Engine, bindparam, delete, func, insert, select

from data_access.core.bulk import insert_rows, json_doc, json_rows
from data_access.core.db import no_statement_timeout
from data_access.core.derived import same_matter
from data_access.core.filters import Scope, case_conditions, resolve
from data_access.core.metrics import DUP_MAX_COMPARE, DUP_MIN_MATTER, DUP_MIN_SCORE, DUP_WINDOW_DAYS
from data_access.core.regions import subtree_codes
from data_access.core.schema import cases, duplicate_groups, duplicate_members
from data_access.core.sqlfn import ValueList, in_values

NGRAM = 2  # character bigrams: the usual unit for Chinese text, where words are not separated
_DROP = re.compile(r"[\s\W_]+", re.UNICODE)  # spaces and punctuation (CJK characters, letters and digits stay)
_NUMBER = re.compile(r"[0-9]+")
_LAST_NUMBER = re.compile(r"[0-9]+(?=[^0-9]*$)")
_STREAM_ROWS = 10_000


def _plain(text: str | None) -> str:
    """``text`` as it is compared: NFKC (full-width → half-width), lower case, without spaces or punctuation."""
    return _DROP.sub("", unicodedata.normalize("NFKC", text or "").lower())


def _grams(s: str, n: int = NGRAM) -> frozenset[str]:
    """The n-grams of a text already :func:`_plain`: a text shorter than ``n`` is its own single gram."""
    if len(s) < n:
        return frozenset([s]) if s else frozenset()
    return frozenset(s[i:i + n] for i in range(len(s) - n + 1))


def _lead_of(plain: str) -> str | None:
    """:func:`lead` of a text already :func:`_plain`."""
    m = _NUMBER.search(plain)
    return plain[:m.start()] if m else None


def _matter_of(plain: str) -> str | None:
    """:func:`matter` of a text already :func:`_plain`."""
    m = _LAST_NUMBER.search(plain)
    return plain[m.end():] if m else None


def ngrams(text: str | None, n: int = NGRAM) -> frozenset[str]:
    """The set of character n-grams of ``text`` after NFKC (full-width → half-width), lower case, and without
    spaces or punctuation; a text shorter than ``n`` is its own single gram; empty text has none."""
    return _grams(_plain(text), n)


def case_text(title: str | None, description: str | None) -> str:
    """What two cases are compared on: the title and the description."""
    return f"{title or ''} {description or ''}"


def numbers(text: str | None) -> tuple[str, ...]:
    """The numbers (runs of digits, after NFKC: full-width digits count) a text names, in order and with repeats
    ("6组6号" names 6 twice), leading zeros dropped."""
    return tuple(n.lstrip("0") or "0" for n in _NUMBER.findall(unicodedata.normalize("NFKC", text or "")))


def numbers_agree(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """The numbers of one title appear, in order, among the other's (a title without numbers agrees with any;
    "3组" agrees with "3组12号", a report naming less of the place).  In order and with repeats: as sets, "6组6号"
    was inside "6组37号" and "1栋4单元" around "4栋4单元" (a third of the false pairs at 100k)."""
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    it = iter(long_)
    return all(n in it for n in short)


def lead(title: str | None) -> str | None:
    """What a title says before its first number (NFKC, lower case, spaces and punctuation dropped): the place
    the numbers belong to ("锦绣花园" of "锦绣花园14栋"); None when it names no number."""
    return _lead_of(_plain(title))


def leads_agree(a: str | None, b: str | None) -> bool:
    """The places before the numbers agree: one ends with the other (a report may name less of it, or begin with
    "又有群众反映"); either naming no number agrees.  Without it "梅苑小区14栋2单元" and "锦绣花园14栋2单元" of
    one community were one place."""
    return a is None or b is None or a.endswith(b) or b.endswith(a)


def matter(title: str | None) -> str | None:
    """What a title says after its last number (NFKC, lower case, spaces and punctuation dropped): the matter
    reported of the place the numbers name ("号两户村民因宅基地界址发生口角" of "象茶村9组3号两户村民因…");
    None when it names no number."""
    return _matter_of(_plain(title))


def matters_agree(a: frozenset[str] | None, b: frozenset[str] | None, min_matter: float = DUP_MIN_MATTER) -> bool:
    """Two titles' matters (the bigrams of :func:`matter`) are one: their Jaccard index is at least
    ``min_matter``.  A title naming no number, or nothing after it, agrees with any (there is nothing to tell
    them apart by).  Measured on the 1.07 M sample's proposals: of its 1,014 true pairs one has a matter index
    under 0.2; of its 158 false pairs that were not chance repeats of one title, 142 (docs/PERFORMANCE.md)."""
    if not a or not b:
        return True
    return jaccard(a, b) >= min_matter


def places_agree(earlier: dict, earlier_numbers: tuple[str, ...], later: dict, later_numbers: tuple[str, ...],
                 earlier_lead: str | None = None, later_lead: str | None = None) -> bool:
    """The two cases may be about one place: their titles' numbers agree (:func:`numbers_agree`) and so do the
    places they qualify (:func:`leads_agree`), and, when either title names none, they lie in the same grid."""
    if not numbers_agree(earlier_numbers, later_numbers) or not leads_agree(earlier_lead, later_lead):
        return False
    return bool(earlier_numbers and later_numbers) or earlier["grid_code"] == later["grid_code"]


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """|a ∩ b| / |a ∪ b|; 0 when both are empty."""
    if not a or not b:
        return 0.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


def similarity(title_a: str | None, desc_a: str | None, title_b: str | None, desc_b: str | None) -> float:
    """The text similarity of two cases, 0–1: the higher :func:`jaccard` of their bigrams (:func:`ngrams`),
    of the titles or of title and description (:func:`case_text`)."""
    return max(jaccard(ngrams(title_a), ngrams(title_b)),
               jaccard(ngrams(case_text(title_a, desc_a)), ngrams(case_text(title_b, desc_b))))


@dataclass(frozen=True)
class Pair:
    earlier: str  # case numbers
    later: str
    score: float  # the pair's score: 1 for a re-call (the same matter by definition), else text_score
    text_score: float  # the text similarity (:func:`similarity`)
    same_caller: bool  # a re-call on the same matter (derived.same_matter)


@dataclass
class DuplicateGroup:
    primary: str  # the earliest report
    members: dict[str, float]  # every other case → its best pair score in the group
    village_code: str
    category: str
    same_caller: bool = False  # some pair of the group is a re-call
    pairs: list[Pair] = field(default_factory=list)

    @property
    def score(self) -> float:
        """The lowest member score."""
        return min(self.members.values())

    @property
    def case_nos(self) -> frozenset[str]:
        return frozenset([self.primary, *self.members])


_COLUMNS = (cases.c.case_no, cases.c.village_code, cases.c.category, cases.c.grid_code, cases.c.source,
            cases.c.reporter_phone, cases.c.reported_at, cases.c.title, cases.c.description)


def _rows(engine: Engine, scope: Scope | None, since: date | None, until: date | None,
          villages: frozenset[str] | None = None) -> Iterator:
    f = (scope or Scope()).cases((since, until))
    r = resolve(engine, f)
    conds = case_conditions(r, datetime(2000, 1, 1))  # no condition reads "now": only the region and dates
    if villages is not None:
        conds.append(cases.c.village_code.in_(sorted(villages)))
    stmt = (select(*_COLUMNS).where(*conds, cases.c.village_code.is_not(None))
            .order_by(cases.c.village_code, cases.c.category, cases.c.reported_at, cases.c.case_no))
    # one statement streamed while Python compares: it lasts as long as the whole detection (8.8 s of CPU at
    # 100k, more on a loaded machine), so the pages' statement time limit (core/db.py) is lifted for it, as the
    # loader lifts it: the bench run at 100k was interrupted by it on a machine at load 10
    with engine.connect() as conn, no_statement_timeout(conn):
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL statement_timeout = 0")
        result = conn.execution_options(stream_results=True, yield_per=_STREAM_ROWS).execute(stmt)
        yield from result.mappings()


class _Text:
    """What :func:`candidate_pairs` compares of one case, each part worked out once: the title's numbers and lead
    (every comparison's first test, :func:`places_agree`), and its bigrams and those of title and description
    (:func:`ngrams`) only when a comparison gets that far: in a busy village most pairs fail on the place, and
    the bigrams were two thirds of a sync's re-detection (a 10,000-case batch at 1.07 M cases)."""

    __slots__ = ("title", "description", "numbers", "lead", "_plain", "_after", "_title_grams", "_text_grams",
                 "_matter_grams")

    def __init__(self, title: str | None, description: str | None):
        self.title, self.description = title, description
        normal = unicodedata.normalize("NFKC", title or "")
        self.numbers = tuple(n.lstrip("0") or "0" for n in _NUMBER.findall(normal))  # = numbers(title)
        self._plain = _DROP.sub("", normal.lower())                                 # = _plain(title)
        self.lead = _lead_of(self._plain)                                           # = lead(title)
        self._after = _matter_of(self._plain)                                       # = matter(title)
        self._title_grams = self._text_grams = self._matter_grams = None

    def title_grams(self) -> frozenset[str]:
        if self._title_grams is None:   # = ngrams(title), from the text already made plain
            self._title_grams = _grams(self._plain)
        return self._title_grams

    def matter_grams(self) -> frozenset[str] | None:
        if self._matter_grams is None and self._after is not None:
            self._matter_grams = _grams(self._after)
        return self._matter_grams

    def text_grams(self) -> frozenset[str]:
        if self._text_grams is None:
            self._text_grams = ngrams(case_text(self.title, self.description))
        return self._text_grams


def candidate_pairs(rows: Iterable, window_days: int = DUP_WINDOW_DAYS, min_score: float = DUP_MIN_SCORE,
                    max_compare: int = DUP_MAX_COMPARE, min_matter: float = DUP_MIN_MATTER) -> Iterator[Pair]:
    """The proposed pairs of ``rows`` (case mappings ordered by village, category, report time, case number:
    :func:`_rows`), by the rules of the module docstring."""
    window = timedelta(days=window_days)
    block_key = None
    recent: deque = deque()
    for row in rows:
        key = (row["village_code"], row["category"])
        if key != block_key:
            block_key, recent = key, deque()
        at = row["reported_at"]
        while recent and at - recent[0][0]["reported_at"] > window:
            recent.popleft()
        text = _Text(row["title"], row["description"])
        for earlier, earlier_text in reversed(recent):  # the most recent first
            if not places_agree(earlier, earlier_text.numbers, row, text.numbers, earlier_text.lead, text.lead):
                continue
            score = max(jaccard(earlier_text.title_grams(), text.title_grams()),
                        jaccard(earlier_text.text_grams(), text.text_grams()))
            recall = row["source"] != "patrol" and same_matter(earlier, row)
            if recall or (score >= min_score and matters_agree(earlier_text.matter_grams(), text.matter_grams(),
                                                               min_matter)):
                yield Pair(earlier["case_no"], row["case_no"], 1.0 if recall else round(score, 4), round(score, 4),
                           recall)
        recent.append((dict(row), text))
        if len(recent) > max_compare:
            recent.popleft()


def group(pairs: Iterable[Pair], order: dict[str, tuple], blocks: dict[str, tuple[str, str]]
          ) -> list[DuplicateGroup]:
    """Connected components of ``pairs`` as groups; ``order``: case → its sort key (report time, case number),
    ``blocks``: case → (village, category)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    pairs = list(pairs)
    for p in pairs:
        a, b = find(p.earlier), find(p.later)
        if a != b:
            parent[max(a, b, key=order.__getitem__)] = min(a, b, key=order.__getitem__)
    by_root: dict[str, list[Pair]] = defaultdict(list)
    for p in pairs:
        by_root[find(p.earlier)].append(p)
    groups = []
    for root, ps in by_root.items():
        best: dict[str, float] = {}
        for p in ps:
            for c in (p.earlier, p.later):
                best[c] = max(best.get(c, 0.0), p.score)
        primary = min(best, key=order.__getitem__)
        village, category = blocks[primary]
        groups.append(DuplicateGroup(primary, {c: s for c, s in sorted(best.items()) if c != primary}, village,
                                     category, any(p.same_caller for p in ps), ps))
    groups.sort(key=lambda g: order[g.primary])
    return groups


def detect_duplicates(engine: Engine, scope: Scope | None = None, since: date | None = None,
                      until: date | None = None, villages: frozenset[str] | None = None) -> list[DuplicateGroup]:
    """The groups of repeat cases among the cases reported from ``since`` to ``until`` (inclusive dates; None:
    unbounded) in ``scope`` (None: everywhere) and in ``villages`` (None: every village), earliest primary first.
    Reads only; see :func:`store_proposals`.
    A benchmark calls this and :func:`group_pairs`."""
    order: dict[str, tuple] = {}
    blocks: dict[str, tuple[str, str]] = {}

    def noted(rows):
        for row in rows:
            yield row
            order[row["case_no"]] = (row["reported_at"], row["case_no"])
            blocks[row["case_no"]] = (row["village_code"], row["category"])

    pairs = list(candidate_pairs(noted(_rows(engine, scope, since, until, villages))))
    return group(pairs, order, blocks)


def group_pairs(groups: Iterable[DuplicateGroup]) -> set[frozenset[str]]:
    """Every unordered pair of cases that share a group (what precision and recall are counted on)."""
    out: set[frozenset[str]] = set()
    for g in groups:
        members = sorted(g.case_nos)
        out.update(frozenset((a, b)) for i, a in enumerate(members) for b in members[i + 1:])
    return out


def precision_recall(found: set[frozenset[str]], truth: set[frozenset[str]]) -> tuple[float | None, float | None]:
    """Precision (share of ``found`` pairs in ``truth``) and recall (share of ``truth`` pairs found), over
    unordered pairs (:func:`group_pairs` of the detected groups and of the ground truth's groups); None where
    the denominator is empty."""
    hit = len(found & truth)
    return (hit / len(found) if found else None, hit / len(truth) if truth else None)


def store_proposals(engine: Engine, groups: list[DuplicateGroup], scope: Scope | None = None,
                    now: datetime | None = None, since: date | None = None, until: date | None = None,
                    villages: frozenset[str] | None = None) -> dict[str, int]:
    """Replace the proposed groups that :func:`detect_duplicates` with the same ``scope``, ``since``, ``until``
    and ``villages`` would have found (their village inside ``scope`` and among ``villages``, their primary
    reported in those dates; None: all) with
    ``groups``, in one transaction.  Confirmed and rejected groups stay as staff decided them, and a detected
    group whose cases all lie in one decided group is not proposed again.  Returns counts: proposed, decided
    (groups kept), skipped."""
    from data_access.core.clock import now_local

    now = (now or now_local()).replace(microsecond=0, tzinfo=None)
    g, m = duplicate_groups.c, duplicate_members.c
    in_scope = None
    if scope is not None and (scope.region_code or scope.scope_code):
        r = resolve(engine, scope)
        in_scope = subtree_codes(r.tree, r.code, "village") if r.code else None
    with engine.begin() as conn:
        old = select(g.group_id).where(g.state == "proposed")
        if in_scope is not None:
            old = old.where(g.village_code.in_(in_scope))
        if since is not None or until is not None:
            old = old.join(cases, cases.c.case_no == g.primary_case_no)
            if since is not None:
                old = old.where(cases.c.reported_at >= datetime.combine(since, datetime.min.time()))
            if until is not None:
                old = old.where(cases.c.reported_at < datetime.combine(until + timedelta(days=1),
                                                                       datetime.min.time()))
        if villages is not None:
            old = old.where(g.village_code.in_(sorted(villages)))
        old_ids = list(conn.execute(old).scalars())
        for i in range(0, len(old_ids), 500):
            part = old_ids[i:i + 500]
            conn.execute(delete(duplicate_members).where(m.group_id.in_(part)))
            conn.execute(delete(duplicate_groups).where(g.group_id.in_(part)))
        decided: dict[int, set[str]] = defaultdict(set)
        for gid, case_no in conn.execute(select(m.group_id, m.case_no).join(duplicate_groups,
                                                                           g.group_id == m.group_id)
                                         .where(g.state != "proposed")):
            decided[gid].add(case_no)
        decided_sets = list(decided.values())
        case_decided: dict[str, list[set[str]]] = defaultdict(list)
        for s in decided_sets:
            for c in s:
                case_decided[c].append(s)
        keep = [grp for grp in groups if not any(grp.case_nos <= s for s in case_decided.get(grp.primary, ()))]
        skipped = len(groups) - len(keep)
        # all groups in one INSERT … RETURNING, then all members: one group at a time, a 10,000-case batch's
        # 1,769 groups took most of the 3.3 s the after-sync refresh cost on PostgreSQL
        for i in range(0, len(keep), 1000):
            part = keep[i:i + 1000]
            ids = _insert_groups(conn, [
                dict(primary_case_no=grp.primary, village_code=grp.village_code, category=grp.category,
                     score=grp.score, same_caller=grp.same_caller, state="proposed", detected_at=now)
                for grp in part])
            insert_rows(conn, duplicate_members, [
                row for gid, grp in zip(ids, part)
                for row in ({"group_id": gid, "case_no": grp.primary, "score": None},
                            *({"group_id": gid, "case_no": c, "score": sc} for c, sc in grp.members.items()))])
        stored = len(keep)
    return {"proposed": stored, "decided": len(decided_sets), "skipped": skipped}


def _insert_groups(conn: Connection, rows: list[dict]) -> list[int]:
    """Insert the proposed groups ``rows``; their new ids, in the order of the rows.

    PostgreSQL: the rows as one JSON parameter (core/bulk.py), the ids matched back by primary case (one group a
    primary: the groups of a detection are disjoint; rows that repeat a primary go the other way).  SQLAlchemy's
    own way, one INSERT … VALUES of all the rows with RETURNING in their order, spent ~0.5 s of a 10,000-case
    batch's refresh in psycopg turning the 8,000-parameter statement into PostgreSQL's form.  SQLite: that way
    (its driver binds in C)."""
    g = duplicate_groups.c
    if conn.dialect.name != "postgresql" or len({r["primary_case_no"] for r in rows}) < len(rows):
        return list(conn.execute(insert(duplicate_groups).returning(g.group_id, sort_by_parameter_order=True),
                                 rows).scalars())
    cols = list(rows[0])
    stmt = (insert(duplicate_groups).from_select(cols, json_rows(duplicate_groups, cols))
            .returning(g.group_id, g.primary_case_no))
    by_primary = {p: gid for gid, p in conn.execute(stmt, {"doc": json_doc(rows)})}
    return [by_primary[r["primary_case_no"]] for r in rows]


# After a sync: the cases a batch wrote that were reported at most this many days before the newest of them are
# re-examined (with DUP_WINDOW_DAYS before them); a correction to an older case waits for the command
# (``python -m data_access duplicates``), so that the 4,000 old open cases a big batch takes a step on (status
# only: nothing detection reads) do not make it re-read months of every village.
SYNC_RECENT_DAYS = 30


def refresh_after_sync(engine: Engine, changed_at: datetime | Iterable[datetime],
                       now: datetime | None = None) -> dict[str, int] | None:
    """Re-detect and store the proposals of the villages one or more sync batches touched (their cases:
    ``changed_at`` is the batch's stamp, or the stamps of batches applied in a row), from ``DUP_WINDOW_DAYS`` before the earliest of its cases reported within ``SYNC_RECENT_DAYS``
    of its newest, so that the 重复件 view stays current without a command.  The villages of proposed groups
    holding one of those cases are included (a case moved to another village leaves its old group).  None when
    the batch wrote no case.  Decisions staff made are kept (:func:`store_proposals`).

    A proposed group of those villages with a member on or after that day is re-read from its primary, so a new
    case joining it by a chain extends it.  Not covered (the command is): corrections to cases reported more than
    ``SYNC_RECENT_DAYS`` before the batch's newest."""
    c, g, m = cases.c, duplicate_groups.c, duplicate_members.c
    with engine.connect() as conn:
        stamps = [changed_at] if isinstance(changed_at, datetime) else sorted(set(changed_at))
        touched = conn.execute(select(c.case_no, c.village_code, c.reported_at)
                               .where(c.changed_at.in_(stamps))).all() if stamps else []
        if not touched:
            return None
        newest = max(r.reported_at for r in touched)
        recent = [r for r in touched if r.reported_at >= newest - timedelta(days=SYNC_RECENT_DAYS)]
        villages = {r.village_code for r in recent if r.village_code is not None}
        # the proposed groups holding one of them, by their numbers: joined to cases by the batch's stamp, the
        # planner (statistics from before the batch: one case a stamp) looped over every proposed group for each
        # of a 10,000-case batch's cases, past the statement limit at 1.07 M cases (issue 19)
        nos = bindparam("touched", [r.case_no for r in touched], type_=ValueList())
        villages |= set(conn.execute(
            select(g.village_code).distinct().join(duplicate_members, m.group_id == g.group_id)
            .where(in_values(m.case_no, nos), g.state == "proposed")).scalars())
    if not villages:
        return None
    since = (min(r.reported_at for r in recent) - timedelta(days=DUP_WINDOW_DAYS)).date()
    villages = frozenset(villages)
    # a proposed group of those villages reaching into those days is read whole (from its primary), so that a
    # new case joining it by a chain extends it rather than starting a second group beside it
    start = datetime.combine(since, datetime.min.time())
    reaching = (select(g.group_id).join(duplicate_members, m.group_id == g.group_id)
                .join(cases, c.case_no == m.case_no)
                .where(g.state == "proposed", g.village_code.in_(sorted(villages)), c.reported_at >= start))
    with engine.connect() as conn:
        earliest = conn.execute(select(func.min(c.reported_at)).select_from(duplicate_groups)
                                .join(cases, c.case_no == g.primary_case_no)
                                .where(g.group_id.in_(reaching))).scalar()
    if earliest is not None and earliest < start:
        since = earliest.date()
    groups = detect_duplicates(engine, since=since, villages=villages)
    return store_proposals(engine, groups, now=now, since=since, villages=villages) | {"villages": len(villages)}


def refresh_after_sync_quietly(engine: Engine, changed_at: datetime | Iterable[datetime]) -> dict[str, int] | None:
    """:func:`refresh_after_sync` as the sync runs it after committing: a failure is logged, never raised (the
    batch is in; ``python -m data_access duplicates`` catches up)."""
    import logging

    try:
        return refresh_after_sync(engine, changed_at)
    except Exception:  # noqa: BLE001 — the sync has committed; the proposals must not undo its report
        logging.getLogger(__name__).exception("duplicates: re-detection after the sync failed; run "
                                              "`python -m data_access duplicates`")
        return None


__all__ = ["DuplicateGroup", "Pair", "candidate_pairs", "detect_duplicates", "group", "group_pairs",
           "jaccard", "lead", "leads_agree", "ngrams", "numbers", "numbers_agree", "places_agree", "precision_recall",
           "similarity", "store_proposals",
           "refresh_after_sync", "refresh_after_sync_quietly"]
