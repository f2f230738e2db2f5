"""The administrative tree (regions and grids) as a small in-memory index.

Regions number a few thousand rows, so the tree is read once per data
version and kept; every hierarchy question (level of a code, its children,
its ancestors, whether it lies inside a jurisdiction) is answered from it
instead of recursive SQL that differs between SQLite and PostgreSQL.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import Connection, Engine, delete, func, insert, select

from data_access.core.schema import data_meta, grids, node_paths, regions

LEVEL_ORDER = ("province", "city", "county", "township", "village", "grid", "micro_grid")


@dataclass(frozen=True)
class Node:
    code: str
    name: str
    level: str  # a region level, or "grid" / "micro_grid"
    parent: str | None


@dataclass
class RegionTree:
    nodes: dict[str, Node] = field(default_factory=dict)
    children_of: dict[str | None, list[str]] = field(default_factory=dict)
    population: dict[str, int] = field(default_factory=dict)  # per node, summed from grids

    @property
    def roots(self) -> list[str]:
        return self.children_of.get(None, [])

    def get(self, code: str | None) -> Node | None:
        return self.nodes.get(code) if code else None

    def children(self, code: str | None) -> list[Node]:
        return [self.nodes[c] for c in self.children_of.get(code, [])]

    def child_level(self, code: str | None) -> str | None:
        """The level of ``code``'s children (of the roots for None): what every "by child region" table, chart
        and picker groups by; None when it has none.  The first child's level: children share one level."""
        kids = self.children_of.get(code)
        return self.nodes[kids[0]].level if kids else None

    def children_frame(self, code: str | None, *, population: bool = True) -> pd.DataFrame:
        """``code``'s children (the roots for None) as the first columns of every "by child region" table:
        code, name, level and (unless ``population=False``) population (0 where unknown), in the tree's order;
        empty (no rows) when ``code`` has no children."""
        df = pd.DataFrame([(k.code, k.name, k.level, self.population.get(k.code, 0)) for k in self.children(code)],
                          columns=["code", "name", "level", "population"])
        return df if population else df.drop(columns="population")

    def ancestors(self, code: str) -> list[Node]:
        """From the root down to ``code`` itself."""
        out: list[Node] = []
        node = self.nodes.get(code)
        while node is not None:
            out.append(node)
            node = self.nodes.get(node.parent) if node.parent else None
        return out[::-1]

    def contains(self, ancestor: str | None, code: str) -> bool:
        """True when ``code`` is ``ancestor`` or lies below it (None = the whole tree)."""
        if ancestor is None:
            return code in self.nodes
        return any(n.code == ancestor for n in self.ancestors(code))


_cache: dict[str, tuple[str | None, RegionTree]] = {}
_lock = threading.Lock()


def data_version(engine: Engine) -> str | None:
    """Changes whenever the tree may have changed: a dataset loaded, or a batch that changed regions or grids
    (``tree_at``, data_access/ingest/sync.py); case writes leave it alone."""
    with engine.connect() as conn:
        return conn.execute(select(func.max(data_meta.c.value))
                            .where(data_meta.c.key.in_(("loaded_at", "tree_at")))).scalar_one_or_none()


def region_tree(engine: Engine) -> RegionTree:
    """The tree for the current data version (rebuilt after a load)."""
    key = engine.url.render_as_string(hide_password=False)
    version = data_version(engine)
    with _lock:
        hit = _cache.get(key)
        if hit and hit[0] == version:
            return hit[1]
    tree = _build_tree(engine)
    with _lock:
        _cache[key] = (version, tree)
    return tree


def _build_tree(engine: Engine) -> RegionTree:
    tree = RegionTree()
    with engine.connect() as conn:
        reg = conn.execute(
            select(regions.c.code, regions.c.name, regions.c.level, regions.c.parent_code).order_by(regions.c.code)
        ).all()
        grd = conn.execute(
            select(grids.c.code, grids.c.name, grids.c.village_code, grids.c.parent_grid_code,
                   func.coalesce(grids.c.population, 0)).order_by(grids.c.code)
        ).all()
    for code, name, level, parent in reg:
        tree.nodes[code] = Node(code, name, level, parent or None)
    for code, name, village, parent_grid, _pop in grd:
        level = "micro_grid" if parent_grid else "grid"
        tree.nodes[code] = Node(code, name, level, parent_grid or village)
    for node in tree.nodes.values():
        parent = node.parent if node.parent in tree.nodes else None
        tree.children_of.setdefault(parent, []).append(node.code)
    # Population: grids only (micro-grids are part of their grid's population).
    pop: dict[str, int] = {}
    for code, _name, village, parent_grid, p in grd:
        if parent_grid:
            continue
        node = tree.nodes[code]
        while node is not None:
            pop[node.code] = pop.get(node.code, 0) + int(p or 0)
            node = tree.nodes.get(node.parent) if node.parent else None
    tree.population = pop
    return tree


def subtree_codes(tree: RegionTree, code: str | None, level: str | None = None) -> list[str] | None:
    """Codes of every node below (and including) ``code``, optionally of one level; None = no restriction."""
    if code is None:
        return None
    out: list[str] = []
    stack = [code]
    while stack:
        c = stack.pop()
        node = tree.nodes.get(c)
        if node is None:
            continue
        if level is None or node.level == level:
            out.append(c)
        stack.extend(tree.children_of.get(c, []))
    return out


def ancestor_code(tree: RegionTree, code: str | None, level: str) -> str | None:
    """The code of ``code``'s ancestor (or itself) at ``level``, if it has one."""
    if not code:
        return None
    return next((n.code for n in tree.ancestors(code) if n.level == level), None)


def map_city(tree: RegionTree, code: str | None, scope_code: str | None) -> str | None:
    """The city whose counties the county map shows when ``code`` is selected (the Overview's and the staffing
    page's map): the city the selection lies in.  None, no map, when it lies in no city, or when the user's
    jurisdiction (``scope_code``, None = everything) lies below that city: a user never sees the other counties."""
    city = ancestor_code(tree, code, "city")
    if city is None or not tree.contains(scope_code, city):
        return None
    return city


PATH_LEVELS = ("province", "city", "county", "township", "village", "grid")


def rebuild_node_paths(conn: Connection) -> int:
    """Fill ``node_paths`` from ``regions`` and ``grids`` (after a load); returns its row count."""
    tree = RegionTree()
    for code, name, level, parent in conn.execute(
            select(regions.c.code, regions.c.name, regions.c.level, regions.c.parent_code)):
        tree.nodes[code] = Node(code, name, level, parent or None)
    for code, name, village, parent_grid in conn.execute(
            select(grids.c.code, grids.c.name, grids.c.village_code, grids.c.parent_grid_code)):
        tree.nodes[code] = Node(code, name, "micro_grid" if parent_grid else "grid", parent_grid or village)
    rows = []
    for node in tree.nodes.values():
        row = {"code": node.code, "level": node.level, **{f"{lv}_code": None for lv in PATH_LEVELS}}
        for a in tree.ancestors(node.code):
            if a.level in PATH_LEVELS:
                row[f"{a.level}_code"] = a.code
        rows.append(row)
    conn.execute(delete(node_paths))
    for i in range(0, len(rows), 5000):
        conn.execute(insert(node_paths), rows[i:i + 5000])
    return len(rows)


def served_node(table):
    """The node a staff post or a volunteer team serves, to look up in ``node_paths``: its grid (or micro-grid),
    else its region (metrics.py: a post without a grid serves its region)."""
    return func.coalesce(table.c.grid_code, table.c.region_code)


def path_column(table, level: str):
    """The column of a ``node_paths``-like table holding the ancestor at ``level`` (a micro-grid is itself)."""
    return table.c.code if level == "micro_grid" else table.c[f"{level}_code"]
