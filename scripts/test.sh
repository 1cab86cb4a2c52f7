#!/usr/bin/env bash
# Run the whole test suite. PostgreSQL (TEST_POSTGRES_URL, default 127.0.0.1:5432/test) and
# Redis (TEST_REDIS_URL, default 127.0.0.1:6379/15) tests skip when the service is missing,
# except under CI=true, where they fail.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install.sh
.venv/bin/ruff check app tests bench
exec .venv/bin/python -m pytest "$@"
