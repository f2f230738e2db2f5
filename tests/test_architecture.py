"""The shape of ``data_access``: no import cycle between its modules, and no Streamlit in it; and the pages
call the views that read no cases with a Scope (and a period), not a whole filter.

The graph is read from the source (``ast``), not from ``sys.modules``: every ``import`` counts, at the top of a
module or inside a function (a function-level import is a cycle put off until the call, not one avoided).  Only
imports under ``if TYPE_CHECKING:`` are left out, since they never run.
"""
from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "data_access"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted((ROOT / PACKAGE).rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST):
    """Every Import / ImportFrom node, at any depth, outside ``if TYPE_CHECKING:`` blocks."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def _imported_names(module: str, path: Path) -> set[str]:
    return imported_names(module, path.read_text(encoding="utf-8"), is_package=path.name == "__init__.py")


def imported_names(module: str, source: str, is_package: bool = False) -> set[str]:
    """Dotted names ``module`` imports (``from a import b`` gives both ``a`` and ``a.b``)."""
    out: set[str] = set()
    for node in _imports(ast.parse(source)):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
            continue
        base = node.module or ""
        if node.level:  # relative: from the module's package, one level up per extra dot
            pkg = module.split(".") if is_package else module.split(".")[:-1]
            pkg = pkg[:len(pkg) - (node.level - 1)]
            base = ".".join([*pkg, base] if base else pkg)
        out.add(base)
        out.update(f"{base}.{alias.name}" for alias in node.names)
    return out


def import_graph() -> dict[str, set[str]]:
    """module → the modules of ``data_access`` it imports (importing a module also runs its packages'
    ``__init__``, which is an edge too)."""
    mods = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        targets: set[str] = set()
        for imported in _imported_names(name, path):
            parts = imported.split(".")
            for i in range(1, len(parts) + 1):  # a.b.c runs a, a.b and a.b.c
                prefix = ".".join(parts[:i])
                if prefix in mods and prefix != name:
                    targets.add(prefix)
        graph[name] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_reader_sees_every_kind_of_import():
    """A guard on the reader itself: imports inside functions and methods count, relative ones are resolved,
    ``if TYPE_CHECKING:`` ones are left out; a cycle through them is found."""
    source = (
        "import data_access.core.db\n"
        "from data_access.core import regions\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from data_access.queries import cases\n"
        "def f():\n"
        "    from data_access.queries.volunteers import volunteer_summary\n"
        "class C:\n"
        "    def m(self):\n"
        "        from .. import overview\n"
        "        from .ranking import month_bounds\n")
    names = imported_names("data_access.queries.supervision.x", source)
    assert {"data_access.core.db", "data_access.core.regions", "data_access.queries.volunteers",
            "data_access.queries.overview", "data_access.queries.supervision.ranking"} <= names
    assert "data_access.queries.cases" not in names
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    graph = import_graph()
    assert len(graph) > 40 and "data_access.core.filters" in graph["data_access.queries.staffing"]


def test_no_import_cycle_inside_data_access():
    found = cycles(import_graph())
    assert not found, "import cycles inside data_access:\n" + "\n".join(" ↔ ".join(c) for c in found)


def test_no_streamlit_inside_data_access():
    """data_access answers questions; the UI (ui/, pages/) is the only place that knows Streamlit."""
    offenders = []
    for name, path in _modules().items():
        for imported in _imported_names(name, path):
            if imported == "streamlit" or imported.startswith("streamlit."):
                offenders.append(f"{path.relative_to(ROOT)}: {imported}")
    assert not offenders, "\n".join(offenders)


# --- the views that read no cases take a Scope ---------------------------------------------------------------

def _query_modules(tree: ast.AST) -> dict[str, str]:
    """alias → module, for every ``from data_access.… import <module>`` of a page."""
    out = {}
    for node in _imports(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PACKAGE):
            for alias in node.names:
                name = f"{node.module}.{alias.name}"
                if (ROOT / Path(*name.split("."))).with_suffix(".py").exists():
                    out[alias.asname or alias.name] = name
    return out


def _is_scope(arg: ast.expr) -> bool:
    """``<filter>.scope``, ``<filter>.scope.at(…)`` or ``Scope(…)``."""
    if isinstance(arg, ast.Call):
        return (isinstance(arg.func, ast.Name) and arg.func.id == "Scope") or (
            isinstance(arg.func, ast.Attribute) and arg.func.attr == "at" and _is_scope(arg.func.value))
    return isinstance(arg, ast.Attribute) and arg.attr == "scope"


def _is_period(arg: ast.expr) -> bool:
    return (isinstance(arg, ast.Attribute) and arg.attr == "period") or isinstance(arg, ast.Tuple) or (
        isinstance(arg, ast.Name) and arg.id == "ALL_TIME")


def scope_call_problems(source: str, name: str) -> list[str]:
    """Every ``data.get(<module>.<query>, …)`` of ``source`` (a page or ui module called ``name``) whose query
    takes a Scope (and a period) but gets something else: a whole CaseFilter would make the cache key every
    field of it."""
    tree = ast.parse(source)
    modules = _query_modules(tree)
    problems = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "data" and node.args):
            continue
        q = node.args[0]
        if not (isinstance(q, ast.Attribute) and isinstance(q.value, ast.Name) and q.value.id in modules):
            continue
        query = getattr(importlib.import_module(modules[q.value.id]), q.attr)
        params = list(inspect.signature(query).parameters.values())[1:]  # after the engine
        args = node.args[1:]
        where = f"{name}:{node.lineno} {q.value.id}.{q.attr}"
        if params and params[0].annotation == "Scope" and not (args and _is_scope(args[0])):
            problems.append(f"{where}: pass f.scope (a Scope), not {ast.unparse(args[0]) if args else 'nothing'}")
        if len(params) > 1 and params[1].annotation == "Period" and not (len(args) > 1 and _is_period(args[1])):
            problems.append(f"{where}: pass f.period as the second argument")
    return problems


def test_pages_call_the_views_that_read_no_cases_with_a_scope():
    files = sorted([*(ROOT / "pages").glob("*.py"), *(ROOT / "ui").glob("*.py")])
    problems = [p for f in files for p in scope_call_problems(f.read_text(encoding="utf-8"), str(f.relative_to(ROOT)))]
    assert not problems, "\n".join(problems)


def test_the_scope_check_catches_a_whole_filter():
    source = ("from data_access.queries import staffing, volunteers\n"
              "from data_access.queries.supervision import ranking\n"
              "data.get(staffing.staffing_summary, f)\n"
              "data.get(staffing.staffing_summary, f.scope)\n"
              "data.get(staffing.staffing_by_child_region, f.scope.at(city))\n"
              "data.get(volunteers.volunteer_summary, f.scope, now)\n"
              "data.get(volunteers.volunteer_summary, f.scope, f.period, now)\n"
              "data.get(ranking.bulletin_data, f, month, level)\n")
    problems = scope_call_problems(source, "probe")
    assert [p.split(" ", 1)[0] for p in problems] == ["probe:3", "probe:6", "probe:8"], problems
