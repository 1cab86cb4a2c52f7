#!/usr/bin/env bash
# Set up a fresh machine and run the platform on the embedded default:
# SQLite under instance/, jobs inline (no Redis), demo data, http://127.0.0.1:5000
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install.sh
export FLASK_APP=wsgi
# no SMS gateway here: registration and password-reset codes are logged and shown on the page
export SHOW_VERIFICATION_CODE="${SHOW_VERIFICATION_CODE:-1}"
.venv/bin/flask db upgrade -d app/migrations
.venv/bin/flask seed-demo
exec .venv/bin/flask run --host 127.0.0.1 --port "${PORT:-5000}"
