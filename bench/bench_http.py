"""Whole credit-hour chains over real HTTP against gunicorn (1 and 2 workers) and PostgreSQL, interleaved with
the raw engine floor in one run.

    .venv/bin/python -m bench.bench_http [N=200] [--workers 1 2] [--reps 2] [--worker-class sync|gthread]
        [--threads 4] [--clients C] [--keep-alive] [--block B] [--pg-url URL]

A chain is the four JSON API calls a user makes: the declaration (POST /api/v1/processes/credit_hour_approval/
instances, chenshihui and liuwenbin alternately) and three approvals (POST /api/v1/tasks/<id>/complete by
hospital_admin, health_admin, hr_city, each taking the task id from the previous answer). C client threads (default
2 per worker) send them over loopback to ``gunicorn -c gunicorn.conf.py wsgi:app``. Measured per repetition:
chains/s by the wall clock, CPU of the gunicorn workers and of this database's PostgreSQL backends (from
/proc, so it needs PostgreSQL on this machine), per chain. The raw engine floor (b1: SpiffWorkflow alone with
its default serializer, serialize → deserialize around each step, bench_chain.RawChains) runs between them in this
process: the servers and the floor take turns in blocks of B chains (default 20), so that a drift of the shared
machine's speed moves all of them together. SQL statements per chain are counted once through the Flask test
client on the same database (whole requests, same code). Every chain is checked approved at the end. The
database is a scratch database (dropped and migrated), as in bench_chain."""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from bench._common import DECLARATION, DEFAULT_PG_URL, QueryCounter, ensure_pg_database, make_app, median
from bench.bench_chain import RawChains

ROOT = Path(__file__).resolve().parent.parent
REVIEWERS = ("hospital_admin", "health_admin", "hr_city")
APPLICANTS = ("chenshihui", "liuwenbin")
APPROVE = {"outcome": "approve", "comment": ""}
TICKS = os.sysconf("SC_CLK_TCK")


def _cpu(pid: int) -> float:
    """utime + stime of a process, seconds (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_CLIENT = threading.local()
#: True: each client thread keeps its connection open between requests (HTTP/1.1 keep-alive, as an API client
#: with a connection pool does); gunicorn's sync worker answers ``Connection: close`` and http.client then
#: reconnects by itself, so only gthread workers keep connections. False: a new connection per request.
KEEP_ALIVE = False


def _call(base: str, path: str, body: Any, token: str | None = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode()
    if not KEEP_ALIVE:
        req = urllib.request.Request(base + path, method="POST", data=data, headers=headers)
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read())
    conn = getattr(_CLIENT, "conns", {}).get(base)
    if conn is None:
        host, port = base.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        _CLIENT.__dict__.setdefault("conns", {})[base] = conn
    conn.request("POST", path, body=data, headers=headers)
    resp = conn.getresponse()
    answer = json.loads(resp.read())
    if resp.status >= 400:
        raise urllib.error.HTTPError(base + path, resp.status, str(answer), resp.headers, None)
    return resp.status, answer


class Gunicorn:
    def __init__(self, pg_url: str, workers: int, worker_class: str, threads: int, tmp: Path,
                 extra_env: dict[str, str] | None = None) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "DATABASE_URL": pg_url, "BIND": f"127.0.0.1:{self.port}", "WEB_WORKERS": str(workers),
               "WEB_WORKER_CLASS": worker_class, "WEB_THREADS": str(threads), "LOG_FORMAT": "text",
               "PROMETHEUS_MULTIPROC_DIR": str(tmp / f"metrics{self.port}"), "SECRET_KEY": "bench",
               "LOG_LEVEL": "WARNING", **(extra_env or {})}
        env.pop("REDIS_URL", None)
        self.proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--log-level",
                                      "warning", "wsgi:app"], cwd=ROOT, env=env, start_new_session=True)
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(self.base + "/readyz", timeout=5) as resp:
                    if resp.status == 200 and len(_children(self.proc.pid)) >= workers:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("gunicorn did not become ready")
            time.sleep(0.2)

    def workers_cpu(self) -> float:
        return sum(_cpu(p) for p in _children(self.proc.pid))

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(60)


@dataclass
class Figures:
    label: str
    chains: int = 0
    wall: list[float] = field(default_factory=list)
    worker_cpu: list[float] = field(default_factory=list)
    pg_cpu: list[float] = field(default_factory=list)

    def rate(self) -> float:
        return self.chains / median(self.wall)

    def ms(self, values: list[float]) -> float:
        return 1000 * median(values) / self.chains


def _pg_backends_cpu(admin: Any, dbname: str) -> dict[int, float]:
    with admin.connect() as conn:
        pids = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = :d AND pid <> pg_backend_pid()"),
                            {"d": dbname}).scalars().all()
    return {p: _cpu(p) for p in pids}


def _chains(base: str, tokens: dict[str, str], n: int, clients: int) -> None:
    todo = iter(range(n))
    lock = threading.Lock()
    errors: list[str] = []

    def client() -> None:
        while True:
            with lock:
                i = next(todo, None)
            if i is None:
                return
            applicant = APPLICANTS[i % 2]
            status, inst = _call(base, "/api/v1/processes/credit_hour_approval/instances",
                                 {**DECLARATION, "course_name": f"课程{i}"}, tokens[applicant])
            for reviewer in REVIEWERS:
                if status >= 300:
                    break
                status, inst = _call(base, f"/api/v1/tasks/{inst['tasks'][0]['id']}/complete", APPROVE,
                                     tokens[reviewer])
            if status >= 300 or inst["status"] != "completed":
                errors.append(f"{status} {inst}")

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"{len(errors)} chains failed, e.g. {errors[0]}")


def statements_per_chain(app: Any) -> float:
    """Whole requests through the test client on the same app code and database."""
    from app.extensions import db

    client = app.test_client()
    tokens = {u: client.post("/api/v1/auth/token", json={"login": u, "password": "Demo12345"}).get_json()["token"]
              for u in (*APPLICANTS, *REVIEWERS)}
    n = 5
    with app.app_context(), QueryCounter(db.engine).counting() as counter:
        for i in range(n):
            r = client.post("/api/v1/processes/credit_hour_approval/instances", json={**DECLARATION},
                            headers={"Authorization": f"Bearer {tokens[APPLICANTS[i % 2]]}"})
            inst = r.get_json()
            for reviewer in REVIEWERS:
                inst = client.post(f"/api/v1/tasks/{inst['tasks'][0]['id']}/complete", json=APPROVE,
                                   headers={"Authorization": f"Bearer {tokens[reviewer]}"}).get_json()
            assert inst["status"] == "completed", inst
    return counter.count / n


def run(n: int, workers: list[int], reps: int, worker_class: str, threads: int, clients: int | None,
        pg_url: str, out: Any = print, block: int = 20) -> dict[str, Any]:
    from sqlalchemy.engine import make_url

    reason = ensure_pg_database(pg_url)
    if reason:
        out(f"PostgreSQL not reachable at {pg_url}: {reason}")
        return {}
    app = make_app(pg_url)
    out(f"cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}; chains per repetition: {n}, reps: {reps}, "
        f"gunicorn {worker_class}" + (f" x{threads} threads" if worker_class == "gthread" else "")
        + (", clients keep their connections" if KEEP_ALIVE else ", a new connection per request"))
    statements = statements_per_chain(app)
    tmp = Path(tempfile.mkdtemp(prefix="cepp_bench_http_"))
    dbname = make_url(pg_url).database
    admin = create_engine(pg_url)
    # gunicorn turns a "sync" worker with more than one thread into a gthread worker: sync means one thread, as
    # gunicorn.conf.py runs it in production (before Session 12 the default --threads 4 was passed to sync too,
    # so the "sync" figures of Sessions 8-11 were of gthread workers with 4 threads and no keep-alive).
    servers = {w: Gunicorn(pg_url, w, worker_class, threads if worker_class == "gthread" else 1, tmp)
               for w in workers}
    try:
        tokens = {u: _call(servers[workers[0]].base, "/api/v1/auth/token", {"login": u, "password": "Demo12345"})[1]
                  ["token"] for u in (*APPLICANTS, *REVIEWERS)}
        raw = RawChains(by_reference=False)
        raw.run(20)
        figures = {w: Figures(f"gunicorn, {w} worker{'s' if w > 1 else ''}", n) for w in workers}
        floor = Figures("raw engine b1 (this process)", n)
        for w in workers:  # warm-up: every worker has imported and run a chain
            _chains(servers[w].base, tokens, 10 * w, clients or 2 * w)
        for rep in range(reps):
            # The machine's speed drifts (a shared VM: other tenants, frequency): each worker count and the raw
            # engine take turns in blocks of a few chains, so every figure of a repetition was measured under
            # the same conditions and the ratios stay put when the absolute figures move.
            for w in workers:
                f = figures[w]
                f.wall.append(0.0), f.worker_cpu.append(0.0), f.pg_cpu.append(0.0)
            floor.wall.append(0.0), floor.worker_cpu.append(0.0)
            for start in range(0, n, block):
                size = min(block, n - start)
                for w in workers:
                    server, f = servers[w], figures[w]
                    pg0, cpu0, t0 = _pg_backends_cpu(admin, dbname), server.workers_cpu(), time.perf_counter()
                    _chains(server.base, tokens, size, clients or 2 * w)
                    f.wall[-1] += time.perf_counter() - t0
                    pg1 = _pg_backends_cpu(admin, dbname)
                    f.worker_cpu[-1] += server.workers_cpu() - cpu0
                    f.pg_cpu[-1] += sum(v - pg0.get(p, 0.0) for p, v in pg1.items())
                c0, t0 = time.process_time(), time.perf_counter()
                for _ in range(size):
                    raw.chain()
                floor.wall[-1] += time.perf_counter() - t0
                floor.worker_cpu[-1] += time.process_time() - c0
            rates = ", ".join(f"{w} worker(s) {n / figures[w].wall[-1]:.1f}/s "
                              f"({figures[w].worker_cpu[-1] / floor.worker_cpu[-1]:.2f}x b1)" for w in workers)
            out(f"repetition {rep + 1}/{reps}: {rates}, raw b1 {n / floor.wall[-1]:.0f}/s, "
                f"load average {os.getloadavg()[0]:.1f}")
    finally:
        for server in servers.values():
            server.stop()
        admin.dispose()
    with app.app_context():
        from app.extensions import db

        approved = db.session.scalar(text("SELECT count(*) FROM process_instance WHERE outcome = 'approved'"))
        db.session.remove()
    expected = sum(reps * n + 10 * w for w in workers) + 5
    out(f"approved chains in the database: {approved} (expected at least {expected})")
    floor_cpu = floor.ms(floor.worker_cpu)

    def ratio(values: list[float], base: list[float]) -> list[float]:
        """Per repetition (both measured in the same turns), so the median of the ratios is taken."""
        return [v / b for v, b in zip(values, base, strict=True)]

    out(f"\n{'':34}{'chains/s':>9}{'wall ms':>9}{'worker CPU':>12}{'PG CPU':>8}{'stmts':>7}"
        f"{'CPU / b1':>10}{'wall / b1':>10}")
    for f in figures.values():
        out(f"{f.label:34}{f.rate():9.1f}{1000 / f.rate():9.2f}{f.ms(f.worker_cpu):12.2f}{f.ms(f.pg_cpu):8.2f}"
            f"{statements:7.1f}{median(ratio(f.worker_cpu, floor.worker_cpu)):9.2f}x"
            f"{median(ratio(f.wall, floor.wall)):9.2f}x")
    out(f"{floor.label:34}{floor.rate():9.1f}{1000 / floor.rate():9.2f}{floor_cpu:12.2f}")
    out("(ratios: the median over the repetitions of each repetition's ratio)")
    out("targets: worker CPU per chain <= 2.5x b1; >= 25 chains/s per core (>= 45 on 2 cores with PostgreSQL)")
    return {"figures": figures, "floor": floor, "statements": statements, "approved": approved}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("n", nargs="?", type=int, default=200, help="chains per repetition (default 200)")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="gunicorn worker counts (default 1 2)")
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--worker-class", choices=("sync", "gthread"), default="sync")
    ap.add_argument("--threads", type=int, default=4, help="threads per worker with gthread")
    ap.add_argument("--clients", type=int, default=None, help="client threads (default 2 per worker)")
    ap.add_argument("--keep-alive", action="store_true",
                    help="client threads keep their connection between requests (only gthread workers keep it)")
    ap.add_argument("--block", type=int, default=20,
                    help="chains per turn: each worker count and the raw engine take turns in blocks this size")
    ap.add_argument("--pg-url", default=DEFAULT_PG_URL, help="scratch PostgreSQL database (dropped and migrated)")
    args = ap.parse_args(argv)
    global KEEP_ALIVE
    KEEP_ALIVE = args.keep_alive
    result = run(args.n, args.workers, args.reps, args.worker_class, args.threads, args.clients, args.pg_url,
                 block=args.block)
    return 0 if result else 1


if __name__ == "__main__":
    sys.exit(main())
