"""``python -m bench [suite|NAME] [options]``: the suite (the default) or one benchmark, with its own options.

Only the chosen benchmark's module is imported; its command line is parsed by its own ``main()`` exactly as when
it was a script of its own.  ``--help`` lists the benchmarks with the first paragraph of each one's docstring,
read from the source without importing it.
"""
from __future__ import annotations

import ast
import importlib
import importlib.util
import sys
import textwrap
from pathlib import Path

SUITE = "suite"
# The modules of this package that are commands, in the order --help lists them: the suite and its dataset
# builder, the suite's parts, then the benchmarks of single pages and questions.
COMMANDS = (
    "suite", "datasets",
    "pages", "article", "export", "rss", "concurrency", "alternatives", "scaleout", "sync", "escalation",
    "overview", "workbench", "search", "ranking", "centre_backlog", "centre_process", "supervision_page",
    "staffing", "forces_page", "clean_page", "auth", "run_cpu", "warnings", "load_skewed", "duplicates",
    "open_counts", "plans", "click_cpu",
)
PROG = "python -m bench"


def summary(name: str) -> str:
    """The first paragraph of the docstring of ``bench.<name>``, on one line (the module is not imported:
    several import Streamlit, pandas or the app's modules at the top)."""
    spec = importlib.util.find_spec(f"{__package__ or 'bench'}.{name}")
    doc = ast.get_docstring(ast.parse(Path(spec.origin).read_text(encoding="utf-8"))) or ""
    return " ".join(doc.split("\n\n")[0].split())


def usage() -> str:
    width = max(len(n) for n in COMMANDS) + 4
    lines = [f"usage: {PROG} [suite|NAME] [options]", "",
             "The benchmark suite (the default: no NAME, or options only) or one benchmark with its own options;",
             f"'{PROG} NAME --help' shows them.  Run from the repository root.", "", "benchmarks:"]
    for name in COMMANDS:
        text = summary(name) + (" (the default)" if name == SUITE else "")
        lines += textwrap.wrap(text, 116, initial_indent=f"  {name:<{width - 2}}",
                               subsequent_indent=" " * width)
    lines += ["", "examples:",
              f"  {PROG} --scales 100k --parts pages --pg ''     # the suite: one scale, one part, SQLite only",
              f"  {PROG} --report                                # only rewrite bench/results/REPORT.md",
              f"  {PROG} overview --db sqlite:///bench/full.db --rss"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int | None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    if not args or args[0].startswith("-"):
        name, rest = SUITE, args
    else:
        name, rest = args[0].replace("-", "_"), args[1:]
    if name not in COMMANDS:
        print(f"{PROG}: unknown benchmark {args[0]!r}; one of: {', '.join(COMMANDS)} ({PROG} --help)",
              file=sys.stderr)
        return 2
    module = importlib.import_module(f"{__package__ or 'bench'}.{name}")
    # The benchmark's main() parses sys.argv[1:] with argparse, whose usage line names sys.argv[0].
    sys.argv = [f"{PROG} {name}", *rest]
    return module.main()


if __name__ == "__main__":
    sys.exit(main())
