"""A load test of the realistic mix (bench/locustfile.py: 50 % inbox pages, 30 % case views, 15 % decisions, 5 %
declarations) with locust against gunicorn and PostgreSQL, over loopback, for a bounded time.

    .venv/bin/python -m bench.bench_load [--users 20] [--seconds 60] [--workers 2] [--backlog 300]
        [--open-tasks 0] [--pg-url URL]

The scratch database (dropped and migrated) gets ``--backlog`` declarations waiting at the hospital (the
reviewers' inboxes) and, with ``--open-tasks N``, bench_inbox's generator's N open tasks spread over ~640
organisations (the busy city bureau, hr_city, gets about a fifth of them) before gunicorn starts. Prints
requests/s and p50 / p95 / p99 per route, the error rate, and the workers' resident memory before and after.
Needs locust (``pip install -e '.[bench]'``)."""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench._common import DECLARATION, DEFAULT_PG_URL, actor, ensure_pg_database, make_app
from bench.bench_http import ROOT, Gunicorn, _children


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def prepare(pg_url: str, backlog: int, open_tasks: int) -> tuple[list[int], int]:
    """The backlog's cases (chenshihui's) and the first id after the generated instances (0 without them)."""
    from sqlalchemy import text

    from app.extensions import db
    from app.workflow import services

    app = make_app(pg_url)
    with app.app_context():
        if open_tasks:
            from bench.bench_inbox import generate

            generate(open_tasks)
        first_real = (db.session.scalar(text("SELECT max(id) FROM process_instance")) or 0) + 1 if open_tasks else 0
        ids = []
        for i in range(backlog):
            who = ("chenshihui", "liuwenbin")[i % 2]
            inst = services.start_process("credit_hour_approval", {**DECLARATION, "course_name": f"课程{i}"},
                                          actor=actor(who))
            db.session.commit()
            if who == "chenshihui":
                ids.append(inst.id)
        db.session.remove()
    return ids, first_real


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--users", type=int, default=20, help="simultaneous users (default 20)")
    ap.add_argument("--seconds", type=int, default=60, help="how long the load runs (default 60)")
    ap.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    ap.add_argument("--backlog", type=int, default=300, help="declarations waiting before the start (default 300)")
    ap.add_argument("--open-tasks", type=int, default=0, help="generated open tasks (e.g. 200000)")
    ap.add_argument("--pg-url", default=DEFAULT_PG_URL, help="scratch PostgreSQL database (dropped and migrated)")
    args = ap.parse_args(argv)
    reason = ensure_pg_database(args.pg_url)
    if reason:
        print(f"PostgreSQL not reachable at {args.pg_url}: {reason}")
        return 1
    cases, first_real = prepare(args.pg_url, args.backlog, args.open_tasks)
    tmp = Path(tempfile.mkdtemp(prefix="cepp_bench_load_"))
    server = Gunicorn(args.pg_url, args.workers, "sync", 1, tmp)
    try:
        rss0 = {p: _rss_mb(p) for p in _children(server.proc.pid)}
        env = {**os.environ, "BENCH_CASES": ",".join(map(str, cases)),
               "BENCH_FIRST_REAL_INSTANCE": str(first_real)}
        subprocess.run([sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
                        "-u", str(args.users), "-r", str(max(1, args.users // 5)), "-t", f"{args.seconds}s",
                        "--host", server.base, "--csv", str(tmp / "load"), "--only-summary", "--loglevel", "WARNING"],
                       cwd=ROOT, env=env, check=False, stdout=subprocess.DEVNULL)
        rss1 = {p: _rss_mb(p) for p in _children(server.proc.pid)}
    finally:
        server.stop()
    rows = list(csv.DictReader((tmp / "load_stats.csv").open()))
    print(f"cpus: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}; {args.users} users for {args.seconds} s, "
          f"gunicorn {args.workers} sync workers, backlog {args.backlog}, generated open tasks {args.open_tasks}")
    print(f"{'route':34}{'requests':>9}{'errors':>7}{'req/s':>8}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}")
    for r in rows:
        print(f"{r['Name'][:34]:34}{r['Request Count']:>9}{r['Failure Count']:>7}{float(r['Requests/s']):8.1f}"
              f"{r['50%']:>8}{r['95%']:>8}{r['99%']:>8}")
    total = next(r for r in rows if r["Name"] == "Aggregated")
    print(f"error rate: {int(total['Failure Count']) / max(1, int(total['Request Count'])):.2%}")
    print("worker RSS MB before -> after: " + ", ".join(
        f"{rss0.get(p, 0):.0f} -> {rss1.get(p, 0):.0f}" for p in rss1))
    print("targets: inbox p95 < 50 ms, decisions p95 < 100 ms, zero errors")
    failures = tmp / "load_failures.csv"
    if failures.exists() and failures.stat().st_size > 100:
        print(failures.read_text()[:2000])
    return 0


if __name__ == "__main__":
    sys.exit(main())
