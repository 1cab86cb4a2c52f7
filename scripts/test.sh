#!/usr/bin/env bash
# Run the whole test suite. PostgreSQL (TEST_POSTGRES_URL, default 127.0.0.1:5432/test) and
# Redis (TEST_REDIS_URL, default 127.0.0.1:6379/15) tests skip when the service is missing,
# except under CI=true, where they fail.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install.sh
# Chromium for the browser tests (tests/browser, Playwright drives it): Debian's package, installed
# once when this script may (root with apt-get); otherwise set CHROMIUM to a Chrome/Chromium binary.
if [ -z "${CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] \
    && command -v apt-get >/dev/null 2>&1; then
  echo "installing Chromium for the browser tests (once, ~30 s)..."
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1; then
    apt-get update -q >/dev/null 2>&1 && apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1 \
      || echo "note: could not install chromium; the browser tests will skip (fail under CI=true)" >&2
  fi
fi
# CJK fonts, so that the browser tests' screenshots (tests/browser/artifacts/) show Chinese rather than boxes:
# Debian's fonts-noto-cjk, installed once in the same way.
if ! fc-list :lang=zh 2>/dev/null | grep -q . && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing CJK fonts for the browser screenshots (once)..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends fonts-noto-cjk >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q --no-install-recommends fonts-noto-cjk >/dev/null 2>&1; } \
    || echo "note: could not install fonts-noto-cjk; screenshots will show boxes for Chinese" >&2
fi
.venv/bin/ruff check app tests bench
exec .venv/bin/python -m pytest "$@"
