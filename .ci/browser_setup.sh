#!/usr/bin/env bash
# Set up the real-browser tests (tests/frontends/test_real_browser.py): Debian's chromium
# and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver), only when missing.
# Selenium, from the test extra, drives them; nothing else is downloaded, then or later.
set -euo pipefail

if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
    echo "== $(chromium --version 2>/dev/null | head -1); $(chromedriver --version | head -1)"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "browser_setup: chromium and chromedriver are needed; install them" \
        "(apt-get install chromium chromium-driver) and rerun" >&2
    exit 1
fi
echo "== installing chromium and chromium-driver"
export DEBIAN_FRONTEND=noninteractive
# The package lists of a new machine may be missing or old: refresh them only if need be.
apt-get install -y -q chromium chromium-driver || {
    apt-get update -q
    apt-get install -y -q chromium chromium-driver
}
echo "== $(chromium --version 2>/dev/null | head -1); $(chromedriver --version | head -1)"
