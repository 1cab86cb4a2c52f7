#!/usr/bin/env bash
# Create .venv and install the project with its test tools (idempotent, quiet when up to date).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[dev]'
  rm -f .venv/.installed-* && touch "$stamp"
fi
# The certificate font (static Noto Sans SC from the justmytype-intl-cjk wheel): built once into
# instance/fonts/, about 45 s and 350 MB the first time, a no-op afterwards.
if [ ! -f instance/fonts/NotoSansSC-Regular.ttf ] || [ ! -f instance/fonts/NotoSansSC-Bold.ttf ]; then
  echo "building the certificate font (once, ~45 s)..."
  .venv/bin/python -c "from app.certificates.fonts import build_fonts; build_fonts()"
fi
# The BPMN and DMN editors (bpmn-js, bpmn-js-properties-panel, dmn-js) and the charts (ECharts); without npm the
# pages fall back to uploading a file
# and to the tables.
lock=app/static/package-lock.json
jsstamp=app/static/node_modules/.installed-$(sha256sum "$lock" | cut -c1-16)
if [ ! -f "$jsstamp" ]; then
  if command -v npm >/dev/null 2>&1 && npm ci --prefix app/static --omit=dev --no-audit --no-fund --loglevel=error \
      >/dev/null 2>&1; then
    touch "$jsstamp"
  else
    echo "note: npm unavailable, the in-browser BPMN editor and the statistics charts are off (administrators upload .bpmn files instead; the tables remain)" >&2
  fi
fi
