"""The benchmark suite and its benchmarks: one package, one entry point (bench/__main__.py).

    python -m bench [options]              # the whole suite (bench/suite.py): datasets, every part, REPORT.md
    python -m bench suite [options]        # the same
    python -m bench NAME [options]         # one benchmark, e.g. python -m bench overview --rss
    python -m bench --help                 # the benchmarks; python -m bench NAME --help for one's options

Run from the repository root (the benchmarks import ``data_access``, ``ui`` and ``bench.*`` as packages, and
their default databases are relative paths such as sqlite:///bench/full.db).  Modules that are not commands:
server.py (a real ``streamlit run``), ws_client.py (scripted websocket tabs), timing.py, visits.py (what
"every page" means), report.py (REPORT.md from the results) and alt_pandas_app.py (the pandas page that
alternatives.py times; a Streamlit script, ``streamlit run bench/alt_pandas_app.py``).

This file imports nothing: the children that measure peak RSS (``python -m bench export --one …``,
``python -m bench alternatives --child …``) start through the package and must not pay for the others.
"""
