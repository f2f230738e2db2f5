"""The roll-ups kept by difference (data_access/core/rollups.py): the case numbers bound as one parameter
(sqlfn.in_values) and the set-based apply with its fallback, on SQLite and PostgreSQL, on the hand-computable
fixture (tests/fixtures/metrics)."""
from __future__ import annotations

import pytest
from sqlalchemy import Column, MetaData, String, Table, bindparam, event, func, insert, select

from data_access.core import rollups, schema
from data_access.core.rollups import apply_contributions, contributions, rebuild_all_summaries
from data_access.core.sqlfn import ValueList, in_values

ROLLUPS = (schema.case_summary, schema.case_summary_county, schema.process_summary, schema.grid_summary,
           schema.case_day_counts)


def _rows(conn) -> dict[str, list[tuple]]:
    return {t.name: sorted((tuple(r) for r in conn.execute(select(t))), key=repr) for t in ROLLUPS}


def test_in_values_selects_exactly_the_listed_values_with_one_parameter(empty_engine):
    t = Table("t_in_values", MetaData(), Column("k", String(16)))
    stmt = select(t.c.k).where(in_values(t.c.k, bindparam("ks", type_=ValueList()))).order_by(t.c.k)
    with empty_engine.begin() as conn:
        t.create(conn)
        conn.execute(insert(t), [{"k": f"c{i:04d}"} for i in range(3000)])
        assert conn.execute(stmt, {"ks": ["c0002", "c0000", "nope"]}).scalars().all() == ["c0000", "c0002"]
        assert conn.execute(stmt, {"ks": []}).scalars().all() == []
        # 2,500 values are still one parameter (an IN list that long is 2,500 of them)
        many = [f"c{i:04d}" for i in range(0, 3000, 1)][:2500]
        assert conn.execute(select(func.count()).select_from(stmt.subquery()), {"ks": many}).scalar_one() == 2500
        compiled = stmt.compile(conn)
        assert list(compiled.params) == ["ks"]
        assert "= 1" not in str(compiled)   # a bare IN, which an index can serve (no "(… IN …) = 1")


@pytest.fixture(params=["by key", "set-based"])
def apply_path(request, monkeypatch):
    """Both ways of applying a difference: row by row (a few rows) and through the temporary tables (many)."""
    monkeypatch.setattr(rollups, "BY_KEY_MAX", 16 if request.param == "by key" else 0)
    return request.param


def test_a_case_taken_away_and_put_back_leaves_the_roll_ups_as_they_were(loaded_engine, apply_path):
    with loaded_engine.begin() as conn:
        first = _rows(conn)
        nos = conn.execute(select(schema.cases.c.case_no).order_by(schema.cases.c.case_no).limit(3)).scalars().all()
        mine = contributions(conn, nos)
        assert sum(v[0] for v in mine["case_summary"].values()) == 3   # three cases, n counts them
        # taken away: every row they alone made is deleted, the rest lose them
        changed = apply_contributions(conn, mine, {})
        county_rows = {k[:4] + k[5:] for k in mine["case_summary"]}   # the township left out
        assert changed == (len(mine["case_summary"]) + len(county_rows) + len(mine["process_summary"])
                           + len(mine["grid_summary"]) + len(mine["case_day_counts"]))
        assert sum(r[8] for r in _rows(conn)["case_summary"]) == sum(r[8] for r in first["case_summary"]) - 3
        apply_contributions(conn, {}, mine)
        assert _rows(conn) == first


@pytest.mark.parametrize("fault", ["stored twice", "count below 0"])
def test_a_row_the_difference_cannot_apply_to_has_its_slice_rebuilt(loaded_engine, fault, apply_path):
    cs = schema.case_summary
    with loaded_engine.begin() as conn:
        rebuilt = _rows(conn)
        case_no = conn.execute(select(schema.cases.c.case_no).order_by(schema.cases.c.case_no).limit(1)).scalar_one()
        mine = contributions(conn, [case_no])
        (key, vals), = mine["case_summary"].items()
        if fault == "stored twice":
            row = conn.execute(select(cs).where(*[cs.c[c] == v if v is not None else cs.c[c].is_(None)
                                                  for c, v in zip(cs.c.keys(), key)])).mappings().one()
            conn.execute(insert(cs), [dict(row)])
            before = {"case_summary": mine["case_summary"]}
        else:
            stored_n = conn.execute(select(cs.c.n).where(*[cs.c[c] == v if v is not None else cs.c[c].is_(None)
                                                           for c, v in zip(cs.c.keys(), key)])).scalar_one()
            before = {"case_summary": {key: [stored_n + 1, *vals[1:]]}}
        # the case is still there: once the slice is rebuilt from its cases, every roll-up is a rebuild's
        apply_contributions(conn, before, {})
        assert _rows(conn) == rebuilt
        rebuild_all_summaries(conn)
        assert _rows(conn) == rebuilt


def test_a_one_case_difference_is_applied_by_key_in_a_few_statements(loaded_engine):
    """A 1-case write changes 1–2 rows of each roll-up: applied row by row, no temporary table (which cost ~7
    statements a roll-up, 28 for one case)."""
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    with loaded_engine.begin() as conn:
        first = _rows(conn)
        case_no = conn.execute(select(schema.cases.c.case_no).order_by(schema.cases.c.case_no).limit(1)).scalar_one()
        mine = contributions(conn, [case_no])
        event.listen(conn, "before_cursor_execute", count)
        try:
            apply_contributions(conn, mine, {})
        finally:
            event.remove(conn, "before_cursor_execute", count)
        assert not [s for s in seen if "tmp_rollup_delta" in s]
        # one UPDATE … RETURNING per row; the rows the case alone made are deleted after it
        rows = sum(len(mine[name]) for name in ("case_summary", "process_summary", "grid_summary",
                                                      "case_day_counts"))
        rows += len({k[:4] + k[5:] for k in mine["case_summary"]})
        assert rows <= len(seen) <= 2 * rows
        apply_contributions(conn, {}, mine)
        assert _rows(conn) == first


def test_a_rebuild_computes_each_cases_flags_once(metrics_engine):
    """The per-case subquery of case_summary and process_summary is read as it stands, not flattened into the
    GROUP BY (which computed a case's hour bucket again in each of the 24 sums reading it and, on SQLite, walked
    ``cases`` by an index in place of a scan: 25 and 27 s of CPU at 1.07 M cases, 17 and 19 s fenced)."""
    for name, stmt in (("case_summary", rollups._summary_select()), ("process_summary", rollups._process_select())):
        with metrics_engine.connect() as conn:
            compiled = stmt.compile(conn)
            params = compiled.params
            if conn.dialect.name == "sqlite":
                sql = str(compiled)
                plan = " | ".join(r[3] for r in conn.exec_driver_sql(
                    "EXPLAIN QUERY PLAN " + sql, tuple(params[k] for k in compiled.positiontup)).all())
                assert "CO-ROUTINE" in plan and "SCAN cases" in plan and "USING INDEX" not in plan, (name, plan)
            else:
                # PostgreSQL drops the trivial subquery scan from the plan; where the flags are computed shows it:
                # in the scan of cases (once a case), not in the aggregate's sums (flattened)
                plan = [r[0].strip() for r in conn.exec_driver_sql("EXPLAIN VERBOSE " + str(compiled), params)]
                scan = next(i for i, line in enumerate(plan) if "Seq Scan on public.cases" in line)
                assert "CASE WHEN" in plan[scan + 1], (name, plan)


@pytest.mark.parametrize("name, key", [
    ("case_summary", ["month", "county_code", "township_code", "category", "status", "resolution_level"]),
    ("case_summary_county", ["month", "county_code", "category", "status", "resolution_level"]),
    ("process_summary", ["month", "county_code", "township_code", "category", "department_code"])])
def test_a_difference_finds_its_stored_row_by_its_whole_key_in_the_index(metrics_engine, name, key):
    """A batch's differences are added to the roll-up rows of their keys (rollups._apply: a check, an UPDATE and
    an INSERT of the keys not stored yet, each joining the differences to the roll-up).  The month index holds every
    dimension but the province and city (migration 0029): with only month, county and township in it, each lookup
    read ~50 rows to keep one, ~1.5 s of PostgreSQL for a 10,000-case batch at 1.07 M skewed cases."""
    cols = rollups._COLS_OF[name]
    ndims = rollups._NDIMS_OF[name]
    mask = 1 << cols.index("province_code")   # the usual key: no province (the city is the root)
    with metrics_engine.connect() as conn:
        conn.execute(rollups._create_delta_table(name))
        for stmt in rollups._apply_statements(name, tuple(cols), ndims, mask, conn.dialect.name):
            compiled = stmt.compile(conn)
            if conn.dialect.name == "sqlite":
                plan = " | ".join(r[3] for r in conn.exec_driver_sql(
                    "EXPLAIN QUERY PLAN " + str(compiled),
                    tuple(compiled.params[k] for k in compiled.positiontup or ())).all())
                used = plan[plan.index(f"ix_{name}_month"):]
                assert all(f"{c}=?" in used.split(")")[0] for c in key if c != "resolution_level"), (name, plan)
            else:
                conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
                plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + str(compiled), compiled.params))
                cond = plan[plan.index(f"ix_{name}_month"):].split("Index Cond: ", 1)[1].split("\n")[0]
                assert all(f"({c})" in cond for c in key if c != "resolution_level"), (name, plan)
        conn.rollback()
