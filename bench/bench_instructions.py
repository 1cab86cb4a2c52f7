"""Instructions per whole API chain against the raw engine floor, counted by valgrind's callgrind: a figure
that does not move with the load of a shared machine (the same code and inputs give the same count within a
fraction of a per cent), where CPU seconds do by tens of per cent.

    .venv/bin/python -m bench.bench_instructions [K=20] [--gc-threshold 20000] [--pg-url URL]

The four JSON API calls of bench_http's chain go through the app's WSGI callable in this process (the app's
whole request: hooks, authentication, the service layer, the answer; not gunicorn's HTTP parsing), on the
scratch PostgreSQL database, which is dropped and migrated first. Three runs under callgrind, each after the
same warm-up (10 chains and 10 raw chains): nothing more, K app chains, K raw chains (b1, as in bench_http);
the differences divided by K are the instructions of one chain. ``--gc-threshold`` sets the collector as the
gunicorn workers do (gunicorn.conf.py). Instructions are not time: the app's code touches far more memory than
the engine alone and runs its instructions more slowly, so the CPU ratio (bench_http) is the larger one.
Needs valgrind; a run takes a few minutes."""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from bench._common import DECLARATION, DEFAULT_PG_URL, ensure_pg_database, make_app

APPLICANTS = ("chenshihui", "liuwenbin")
REVIEWERS = ("hospital_admin", "health_admin", "hr_city")
APPROVE = {"outcome": "approve", "comment": ""}
WARM_UP = 10


def _child(mode: str, k: int, pg_url: str, gc_threshold: int) -> None:
    """Inside valgrind: warm up, then ``mode`` (none, app, raw) ``k`` times."""
    from werkzeug.test import EnvironBuilder

    from bench._common import app_on
    from bench.bench_chain import RawChains

    app = app_on(pg_url)
    if gc_threshold:
        gc.collect()
        gc.freeze()
        gc.set_threshold(gc_threshold, *gc.get_threshold()[1:])

    def call(path: str, body: dict, token: str | None = None) -> dict:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        environ = EnvironBuilder(path=path, method="POST", json=body, headers=headers,
                                 environ_base={"REMOTE_ADDR": "127.0.0.1"}).get_environ()
        answer = app(environ, lambda *_: None)
        data = b"".join(answer)
        answer.close()  # type: ignore[attr-defined]
        return json.loads(data)

    tokens = {u: call("/api/v1/auth/token", {"login": u, "password": "Demo12345"})["token"]
              for u in (*APPLICANTS, *REVIEWERS)}

    def chain(i: int) -> None:
        inst = call("/api/v1/processes/credit_hour_approval/instances", {**DECLARATION},
                    tokens[APPLICANTS[i % 2]])
        for reviewer in REVIEWERS:
            inst = call(f"/api/v1/tasks/{inst['tasks'][0]['id']}/complete", APPROVE, tokens[reviewer])
        if inst["status"] != "completed":
            raise RuntimeError(f"chain did not complete: {inst}")

    raw = RawChains(by_reference=False)
    for i in range(WARM_UP):
        chain(i)
        raw.chain()
    for i in range(k):
        if mode == "app":
            chain(i)
        elif mode == "raw":
            raw.chain()


def _count(out_file: Path) -> int:
    text = out_file.read_text(errors="replace")
    found = re.search(r"^(?:summary|totals):\s*(\d+)", text, re.MULTILINE)
    if found is None:
        raise RuntimeError(f"no instruction total in {out_file}")
    return int(found.group(1))


def run(k: int, gc_threshold: int, pg_url: str, out=print) -> dict[str, float]:  # noqa: ANN001
    reason = ensure_pg_database(pg_url)
    if reason:
        out(f"PostgreSQL not reachable at {pg_url}: {reason}")
        return {}
    make_app(pg_url)  # a freshly migrated, seeded scratch database
    tmp = Path(tempfile.mkdtemp(prefix="cepp_bench_instr_"))
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    procs = {}
    for mode in ("none", "app", "raw"):
        procs[mode] = subprocess.Popen(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp / mode}.out", sys.executable, "-m",
             "bench.bench_instructions", "--child", mode, str(k), "--gc-threshold", str(gc_threshold),
             "--pg-url", pg_url], env=env, cwd=Path(__file__).resolve().parent.parent,
            stdout=subprocess.DEVNULL, stderr=open(tmp / f"{mode}.log", "w"))  # noqa: SIM115
    for mode, proc in procs.items():
        if proc.wait() != 0:
            raise RuntimeError(f"the {mode} run failed: {(tmp / f'{mode}.log').read_text()[-2000:]}")
    none, app, raw = (_count(tmp / f"{mode}.out") for mode in ("none", "app", "raw"))
    per_app, per_raw = (app - none) / k, (raw - none) / k
    out(f"instructions per chain (callgrind, {k} chains after {WARM_UP} of warm-up, gc threshold "
        f"{gc_threshold or 'default'}):")
    out(f"  whole API chain through the app (WSGI, PostgreSQL)  {per_app / 1e6:8.1f} M")
    out(f"  raw engine b1                                       {per_raw / 1e6:8.1f} M")
    out(f"  ratio                                               {per_app / per_raw:8.2f}x")
    return {"app": per_app, "raw": per_raw, "ratio": per_app / per_raw}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("k", nargs="?", type=int, default=20, help="chains counted (default 20)")
    ap.add_argument("--gc-threshold", type=int, default=20000,
                    help="the collector's first threshold, as in gunicorn.conf.py (0: Python's default)")
    ap.add_argument("--pg-url", default=DEFAULT_PG_URL, help="scratch PostgreSQL database (dropped and migrated)")
    ap.add_argument("--child", nargs=2, metavar=("MODE", "K"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _child(args.child[0], int(args.child[1]), args.pg_url, args.gc_threshold)
        return 0
    return 0 if run(args.k, args.gc_threshold, args.pg_url) else 1


if __name__ == "__main__":
    sys.exit(main())
