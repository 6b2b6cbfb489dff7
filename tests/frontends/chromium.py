"""
Headless Chromium for the real-browser tests, driven by Selenium.

The browser is the system's (Debian's ``chromium``) and so is the driver (Debian's
``chromium-driver``, built from the same source, so the two always match). Selenium is
handed the driver's path, so it never looks for or downloads a driver of its own, and
``SE_OFFLINE`` keeps its driver manager offline should it ever be asked.

Without the browser, the driver or Selenium the tests skip, except in CI (``CI=true``),
where they fail.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SIZES = {1366: (1366, 900), 1920: (1920, 1080)}

#: The flags the browser starts with. The network is closed where the tests run, so
#: everything that would phone home (updates, sync, field trials, QUIC) is turned off;
#: otherwise its failing connections fill the log.
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--force-device-scale-factor=1",
    "--lang=en-US",
]

#: Collects what the console alone might not say: content-security-policy violations,
#: uncaught errors and unhandled promise rejections. It runs before any script of the
#: page (and outside the page's policy).
WATCH_PAGE = """
window.__problems = [];
document.addEventListener('securitypolicyviolation', (e) => window.__problems.push(
  'CSP violation: ' + e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline')));
window.addEventListener('error', (e) => window.__problems.push(
  'uncaught error: ' + (e.message || (e.target && e.target.outerHTML || '').slice(0, 120))),
  true);
window.addEventListener('unhandledrejection', (e) => window.__problems.push(
  'unhandled rejection: ' + e.reason));
"""


def in_ci() -> bool:
    """Return whether this run is CI's (``CI`` set to 1, true or yes)."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def unavailable(message: str) -> None:
    """Skip the test for a missing tool; in CI, fail it."""
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


def tools() -> tuple[str, str]:
    """Return the paths of the system's Chromium and chromedriver (skip or fail without)."""
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    driver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    missing = [path for path in (chromium, driver) if not os.access(path, os.X_OK)]
    if missing:
        unavailable(
            f"The browser tests need Debian's chromium and chromium-driver ({', '.join(missing)}"
            " not found): apt-get install -y chromium chromium-driver"
        )
    try:
        import selenium  # noqa: F401
    except ImportError:
        unavailable("The browser tests need Selenium: install the test extra")
    return chromium, driver


def artifacts() -> Path:
    """Return the screenshot folder: ``$BROWSER_ARTIFACTS``, else ``out/browser``."""
    folder = Path(os.environ.get("BROWSER_ARTIFACTS") or ROOT / "out" / "browser")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextmanager
def chromium(width: int = 1366) -> Iterator[Any]:
    """
    Start headless Chromium with a viewport ``width`` wide; quit it (and its profile) after.

    The page-watching script is installed on every new document, and the console log is
    kept (``driver.get_log("browser")``).
    """
    binary, driver_path = tools()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")
    os.environ.setdefault("SE_AVOID_STATS", "true")
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in [*FLAGS, f"--user-data-dir={profile}", "--window-size={},{}".format(*SIZES[width])]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = None
    try:
        driver = webdriver.Chrome(service=Service(driver_path), options=options)
        driver.set_page_load_timeout(60)
        driver.set_script_timeout(60)
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": WATCH_PAGE})
        resize(driver, width)
        yield driver
    finally:
        if driver is not None:
            driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def resize(driver: Any, width: int) -> None:
    """Make the page's viewport (``innerWidth`` x ``innerHeight``) one of `SIZES`."""
    want_w, want_h = SIZES[width]
    driver.set_window_size(want_w, want_h)
    for _ in range(3):
        inner_w, inner_h = driver.execute_script("return [innerWidth, innerHeight]")
        if (inner_w, inner_h) == (want_w, want_h):
            return
        size = driver.get_window_size()
        driver.set_window_size(size["width"] + want_w - inner_w, size["height"] + want_h - inner_h)
    assert driver.execute_script("return innerWidth") == want_w


def console_errors(driver: Any) -> list[str]:
    """Return (and clear) the console's errors since the last call."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def page_problems(driver: Any) -> list[str]:
    """Return the CSP violations, uncaught errors and rejections the page has had."""
    return driver.execute_script("return window.__problems || []")


def wait_for(check: Callable[[], Any], timeout: float, what: str, step: float = 0.25) -> Any:
    """Call `check` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(step)


def screenshot(driver: Any, name: str) -> Path:
    """Save the viewport as ``<artifacts>/<name>.png`` and return its path."""
    path = artifacts() / f"{name}.png"
    driver.save_screenshot(str(path))
    return path
