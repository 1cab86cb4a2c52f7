"""The two per-request costs named as next steps for the whole API chain, measured alone on PostgreSQL.

    .venv/bin/python -m bench.bench_overheads [--n 20000] [--pg-url URL]

1. The pool's pre-ping: a connection checkout with SQLAlchemy's ``SELECT 1`` pre-ping against one that only
   polls the socket (an idle connection with something readable is a terminated one), and without any check:
   CPU of this process and of the PostgreSQL backend, wall clock, per checkout.
2. A start's version check, ``versions.current_version`` (one SELECT by content hash, an ORM row), against a bare
   ``SELECT 1`` through the same session: what keeping the version per process could save at most per start.

A whole chain (a declaration and three approvals) checks out 4 connections and makes 1 version check; multiply
to compare with bench_http's CPU per chain. The database is a scratch database (dropped and migrated)."""

from __future__ import annotations

import argparse
import os
import select
import time
from collections.abc import Callable
from pathlib import Path

from flask import Flask
from sqlalchemy import create_engine, text

from bench._common import DEFAULT_PG_URL, ensure_pg_database, make_app

TICKS = os.sysconf("SC_CLK_TCK")


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def _socket_ping(dbapi_conn) -> bool:  # noqa: ANN001
    if dbapi_conn.closed:
        return False
    return not select.select([dbapi_conn.fileno()], [], [], 0)[0]


def pings(url: str, n: int) -> None:
    for label, pre_ping, ping in (
        ("pre-ping SELECT 1", True, None),
        ("socket poll", True, _socket_ping),
        ("no check", False, None),
    ):
        engine = create_engine(url, pool_pre_ping=pre_ping)
        if ping is not None:
            engine.dialect.do_ping = ping  # type: ignore[method-assign]
        with engine.connect() as conn:
            pid = conn.scalar(text("SELECT pg_backend_pid()"))
        b0, c0, w0 = _cpu(pid), time.process_time(), time.perf_counter()
        for _ in range(n):
            engine.raw_connection().close()
        b1, c1, w1 = _cpu(pid), time.process_time(), time.perf_counter()
        engine.dispose()
        print(
            f"  checkout, {label:18s} wall {1e6 * (w1 - w0) / n:6.1f} us  CPU {1e6 * (c1 - c0) / n:6.1f} us  "
            f"backend CPU {1e6 * (b1 - b0) / n:6.1f} us"
        )


def version_check(app: Flask, n: int) -> None:
    from app.extensions import db
    from app.workflow import versions

    with app.app_context():
        cases: tuple[tuple[str, Callable[[], object]], ...] = (
            ("current_version", lambda: versions.current_version("credit_hour_approval")),
            ("SELECT 1", lambda: db.session.execute(text("SELECT 1")).scalar()),
        )
        for label, fn in cases:
            fn()
            c0, w0 = time.process_time(), time.perf_counter()
            for _ in range(n):
                fn()
                db.session.expunge_all()
            c1, w1 = time.process_time(), time.perf_counter()
            db.session.rollback()
            print(f"  {label:27s} wall {1e6 * (w1 - w0) / n:6.1f} us  CPU {1e6 * (c1 - c0) / n:6.1f} us")


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--n", type=int, default=20000, help="checkouts per variant (version checks: a tenth)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--pg-url", default=DEFAULT_PG_URL, help="scratch PostgreSQL database (dropped and migrated)")
    args = ap.parse_args()
    reason = ensure_pg_database(args.pg_url)
    if reason:
        print(f"PostgreSQL not reachable at {args.pg_url}: {reason}")
        return
    app = make_app(args.pg_url)
    for rep in range(args.reps):
        print(f"repetition {rep + 1}/{args.reps}, load average {os.getloadavg()[0]:.1f}")
        pings(args.pg_url, args.n)
        version_check(app, args.n // 10)


if __name__ == "__main__":
    main()
