"""A screenshot of one page of a running app in headless Chromium (Debian's /usr/bin/chromium), for reviews.

    python -m tools.screenshot http://127.0.0.1:8501/ out.png [--width 1440 --height 1000] [--demo demo_leader] [--dark]
        [--lang en] [--scroll-to CSS]
``--width``/``--height`` set the viewport (1366×768 is the smallest laptop screen the app is laid out for,
tools/browser.LAPTOP); ``--lang`` adds ``?lang=`` to the URL (the app's own language switch); ``--scroll-to``
scrolls an element into view before the shot (``.st-key-case_panel``).  ``--demo`` signs in first with that
demo account (one click on the sign-in page); ``--dark`` opens the page with
the browser's colour scheme set to dark, so the app (which follows the system's scheme unless the user picks one
in ⋮ → Settings) shows its dark theme.  Waits until Streamlit has finished running before the shot
(tools/browser.py).  Exits 1 when the page shows an exception element.
"""
from __future__ import annotations

import argparse
import sys

from tools import browser


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("out")
    ap.add_argument("--width", type=int, default=1440)
    ap.add_argument("--height", type=int, default=1000)
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--demo", help="sign in first with this demo account (one click on the sign-in page)")
    ap.add_argument("--dark", action="store_true", help="the browser prefers a dark colour scheme")
    ap.add_argument("--lang", choices=("zh", "en"), help="the app's language (adds ?lang= to the URL)")
    ap.add_argument("--scroll-to", help="a CSS selector scrolled into view before the shot")
    a = ap.parse_args()
    url = a.url
    if a.lang:
        url += ("&" if "?" in url else "?") + f"lang={a.lang}"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = browser.launch(p)
        page = chromium.new_page(viewport={"width": a.width, "height": a.height},
                                 color_scheme="dark" if a.dark else "light")
        page.goto(url)
        browser.wait_for_app(page)
        if a.demo:
            browser.sign_in_demo(page, a.demo)
        page.wait_for_timeout(1500)  # charts finish their first paint
        if a.scroll_to:
            page.locator(a.scroll_to).first.scroll_into_view_if_needed()
            page.wait_for_timeout(300)
        page.screenshot(path=a.out, full_page=a.full)
        errors = page.locator("[data-testid=stException]").count()
        chromium.close()
    print(f"saved {a.out}; exception elements: {errors}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
