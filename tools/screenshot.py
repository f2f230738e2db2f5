"""Screenshots of the running app in headless Chromium (Debian's /usr/bin/chromium), for the README and reviews.

    python tools/screenshot.py http://127.0.0.1:8501/ out.png [--width 1440 --height 1000] [--demo demo_leader] [--dark]
``--dark`` opens the page with the browser's colour scheme set to dark, so the app (which follows the system's
scheme unless the user picks one in ⋮ → Settings) shows its dark theme.
Waits until Streamlit has finished running (no running indicator, no skeletons) before the shot.
"""
from __future__ import annotations

import argparse
import sys
import time

from playwright.sync_api import sync_playwright

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def wait_idle(page, timeout_s: float = 60) -> None:
    end = time.time() + timeout_s
    page.wait_for_selector("[data-testid=stApp]", timeout=timeout_s * 1000)
    quiet = 0
    while time.time() < end:
        running = page.locator("[data-testid=stStatusWidget]").count()
        skeletons = page.locator("[data-testid=stSkeleton]").count()
        quiet = quiet + 1 if running == 0 and skeletons == 0 else 0
        if quiet >= 4:
            return
        time.sleep(0.5)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("out")
    ap.add_argument("--width", type=int, default=1440)
    ap.add_argument("--height", type=int, default=1000)
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--demo", help="sign in first with this demo account (one click on the sign-in page)")
    ap.add_argument("--dark", action="store_true", help="the browser prefers a dark colour scheme")
    a = ap.parse_args()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": a.width, "height": a.height},
                                color_scheme="dark" if a.dark else "light")
        page.goto(a.url)
        wait_idle(page)
        if a.demo:
            page.locator(f".st-key-demo_{a.demo} button").first.click()
            time.sleep(1)
            wait_idle(page)
        time.sleep(1.5)  # charts finish their first paint
        page.screenshot(path=a.out, full_page=a.full)
        errors = page.locator("[data-testid=stException]").count()
        browser.close()
    print(f"saved {a.out}; exception elements: {errors}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
