#!/usr/bin/env bash
# Production in one command: migrate the database, then rq workers (WORKERS_PER_QUEUE for each queue of
# WORKER_QUEUES) and gunicorn serving wsgi:app (gunicorn.conf.py: one worker per core). Stops all of them on
# SIGTERM / SIGINT, or as soon as one of them dies. README, "Production".
#   DATABASE_URL=postgresql://... REDIS_URL=redis://... BIND=0.0.0.0:8000 ./scripts/serve.sh
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DATABASE_URL:?set DATABASE_URL (PostgreSQL)}"
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3
export LOG_FORMAT="${LOG_FORMAT:-json}"
export PROMETHEUS_MULTIPROC_DIR="${PROMETHEUS_MULTIPROC_DIR:-$PWD/instance/metrics}"
rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"

"$PY" -m flask --app wsgi db upgrade -d app/migrations
if [ "${SEED_DEMO:-0}" = 1 ]; then
  "$PY" -m flask --app wsgi seed-demo
else
  "$PY" -m flask --app wsgi processes sync  # a version for every new or changed processes/*.bpmn
fi

pids=()
stop() {
  trap - TERM INT EXIT
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
}
trap 'stop; exit 0' TERM INT
trap stop EXIT

if [ -n "${REDIS_URL:-}" ]; then
  for queue in ${WORKER_QUEUES:-default}; do
    for _ in $(seq "${WORKERS_PER_QUEUE:-1}"); do
      "$PY" -m flask --app wsgi worker --queue "$queue" &
      pids+=($!)
    done
  done
fi
"$PY" -m gunicorn -c gunicorn.conf.py wsgi:app &
pids+=($!)
# the first one to end (a crash, or gunicorn failing to bind) takes the others with it
set +e
wait -n "${pids[@]}"
status=$?
exit "$status"
