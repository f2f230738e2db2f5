"""Helpers around a headless Chromium (tools/browser.py), run from the repository root as modules:

    python -m tools.screenshot URL OUT.png [options]      # one page of a running app
    python -m tools.readme_screenshots [options]          # the README's screenshots from the demo data
"""
