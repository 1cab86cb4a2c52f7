"""A web process's memory over 100,000 requests of the realistic mix (issue 19, "a web process's memory flat over
100,000 requests").

    .venv/bin/python -m bench.bench_memory [N=100000] [--clients 4] [--sample 10000] [--backlog 300] [--pg-url URL]

One gunicorn sync worker (``gunicorn -c gunicorn.conf.py wsgi:app``, so every request goes to the same process) on a
scratch PostgreSQL database (dropped and migrated) with ``--backlog`` declarations waiting. C client threads send N
requests over loopback, in turns of the mix of bench/locustfile.py plus the browser's pages: per 100 requests, 45
inbox answers (GET /api/v1/tasks, the three reviewers in turn), 25 case views (GET /api/v1/instances/<id>), 15
decisions (approve a task the reviewer's inbox showed), 5 declarations, 5 inbox pages (GET /tasks, signed in with a
session cookie) and 5 case pages (GET /applications/<id>). Every ``--sample`` requests it reads the worker's resident
memory (VmRSS) and its CPU. Prints the table, the growth between the first sample (after warm-up: imports, caches
and the first requests of each kind are in) and the last, per 10,000 requests, the error count, and that the worker
is the same process throughout (gunicorn's ``max_requests`` is 0: a leak is not hidden by restarts)."""

from __future__ import annotations

import argparse
import http.client
import http.cookiejar
import itertools
import json
import os
import random
import re
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from bench._common import DECLARATION, DEFAULT_PG_URL, ensure_pg_database
from bench.bench_http import APPROVE, REVIEWERS, Gunicorn, _children, _cpu
from bench.bench_load import _rss_mb, prepare

#: One turn of the mix: 100 request kinds in a fixed interleaved order (the proportions of the module's docstring).
MIX = (["inbox"] * 45 + ["case"] * 25 + ["decision"] * 15 + ["declaration"] * 5 + ["inbox page"] * 5
       + ["case page"] * 5)
MIX = [MIX[(i * 37) % 100] for i in range(100)]  # 37 is prime to 100: every kind spread over the turn


class Client:
    """What the client threads share: tokens, the tasks the inboxes showed, the cases to view, a signed-in browser."""

    def __init__(self, base: str, cases: list[int]) -> None:
        self.base = base
        host, port = base.removeprefix("http://").split(":")
        self.host, self.port = host, int(port)
        self.lock = threading.Lock()
        self.cases = list(cases)
        self.seen: dict[str, list[str]] = {r: [] for r in REVIEWERS}
        self.tokens = {u: self.api("POST", "/api/v1/auth/token", {"login": u, "password": "Demo12345"})[1]["token"]
                       for u in (*REVIEWERS, "chenshihui")}
        self.errors: list[str] = []
        self.turn = itertools.cycle(REVIEWERS)
        self.serial = itertools.count()
        self.browsers = {"hospital_admin": self._browser("hospital_admin"), "chenshihui": self._browser("chenshihui")}

    def api(self, method: str, path: str, body: Any = None, login: str | None = None) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        if login:
            headers["Authorization"] = f"Bearer {self.tokens[login]}"
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            conn.request(method, path, body=None if body is None else json.dumps(body).encode(), headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            conn.close()
        return resp.status, json.loads(raw) if raw else None

    def _browser(self, login: str) -> urllib.request.OpenerDirector:
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        page = opener.open(self.base + "/login", timeout=60).read().decode()
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        if token is None:
            raise RuntimeError("no CSRF token on the sign-in page")
        form = urllib.parse.urlencode({"csrf_token": token.group(1), "login": login, "password": "Demo12345"}).encode()
        with opener.open(self.base + "/login", data=form, timeout=60) as resp:
            if "/login" in resp.geturl():
                raise RuntimeError(f"{login} could not sign in (is CAPTCHA_ENABLED off?)")
        return opener

    def page(self, login: str, path: str) -> int:
        try:
            with self.browsers[login].open(self.base + path, timeout=60) as resp:
                resp.read()
                return resp.status
        except urllib.error.HTTPError as exc:
            return exc.code

    def one(self, kind: str) -> None:
        with self.lock:
            reviewer = next(self.turn)
            case_id = random.choice(self.cases) if self.cases else None
            serial = next(self.serial)
        if kind == "inbox":
            status, answer = self.api("GET", "/api/v1/tasks", login=reviewer)
            if status == 200:
                with self.lock:
                    self.seen[reviewer] = [t["id"] for t in answer["items"]]
        elif kind == "case":
            status = self.api("GET", f"/api/v1/instances/{case_id}", login="chenshihui")[0] if case_id else 200
        elif kind == "decision":
            with self.lock:
                task_id = self.seen[reviewer].pop() if self.seen[reviewer] else None
            status = 200
            if task_id is not None:
                status = self.api("POST", f"/api/v1/tasks/{task_id}/complete", APPROVE, login=reviewer)[0]
                if status == 409:  # another client thread decided it first: the user is told so; not an error
                    status = 200
        elif kind == "declaration":
            status, answer = self.api("POST", "/api/v1/processes/credit_hour_approval/instances",
                                      {**DECLARATION, "course_name": f"课程m{serial}"}, login="chenshihui")
            if status == 201:
                with self.lock:
                    self.cases.append(answer["id"])
        elif kind == "inbox page":
            status = self.page("hospital_admin", "/tasks")
        else:
            status = self.page("chenshihui", f"/applications/{case_id}") if case_id else 200
        if status >= 400:
            with self.lock:
                self.errors.append(f"{kind}: {status}")


def run(n: int, clients: int, sample: int, backlog: int, pg_url: str, out: Any = print) -> dict[str, Any]:
    reason = ensure_pg_database(pg_url)
    if reason:
        out(f"PostgreSQL not reachable at {pg_url}: {reason}")
        return {}
    cases, _ = prepare(pg_url, backlog, 0)
    tmp = Path(tempfile.mkdtemp(prefix="cepp_bench_memory_"))
    # the browser clients sign in with the form, which has no picture to read for a program
    server = Gunicorn(pg_url, 1, "sync", 1, tmp, extra_env={"CAPTCHA_ENABLED": "false"})
    rows: list[tuple[int, float, float, float]] = []
    try:
        (worker,) = _children(server.proc.pid)
        client = Client(server.base, cases)
        counter = itertools.count()
        lock = threading.Lock()
        t_start = time.perf_counter()
        rows.append((0, _rss_mb(worker), _cpu(worker), 0.0))

        def loop() -> None:
            while True:
                with lock:
                    i = next(counter)
                if i >= n:
                    return
                client.one(MIX[i % 100])
                if (i + 1) % sample == 0:
                    with lock:
                        rows.append((i + 1, _rss_mb(worker), _cpu(worker), time.perf_counter() - t_start))

        threads = [threading.Thread(target=loop) for _ in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        same = _children(server.proc.pid) == [worker]
    finally:
        server.stop()
    out(f"cpus: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}; {n} requests from {clients} client threads "
        f"to 1 gunicorn sync worker (pid {worker}), backlog {backlog}")
    rows.sort()  # the client threads append them as they pass each sample, not necessarily in order
    out(f"{'requests':>9}{'RSS MB':>9}{'worker CPU s':>14}{'wall s':>9}{'req/s':>8}")
    for i, (count, rss, cpu, wall) in enumerate(rows):
        rate = (count - rows[i - 1][0]) / (wall - rows[i - 1][3]) if i and wall > rows[i - 1][3] else 0.0
        out(f"{count:>9}{rss:>9.1f}{cpu - rows[0][2]:>14.1f}{wall:>9.1f}{rate:>8.1f}")
    first, last = rows[1] if len(rows) > 2 else rows[0], rows[-1]
    per_10k = (last[1] - first[1]) / max(1, last[0] - first[0]) * 10_000
    out(f"RSS after {first[0]} requests {first[1]:.1f} MB, after {last[0]} {last[1]:.1f} MB: "
        f"{last[1] - first[1]:+.1f} MB ({per_10k:+.2f} MB per 10,000 requests)")
    out(f"errors: {len(client.errors)}" + (f" (e.g. {client.errors[:3]})" if client.errors else ""))
    out(f"the same worker process throughout: {'yes' if same else 'NO (it was restarted)'}")
    out("target: a web process's memory flat over 100,000 requests")
    return {"rows": rows, "errors": client.errors, "same_worker": same, "growth_mb": last[1] - first[1]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("n", nargs="?", type=int, default=100_000, help="requests (default 100000)")
    ap.add_argument("--clients", type=int, default=4, help="client threads (default 4)")
    ap.add_argument("--sample", type=int, default=10_000, help="read the worker's memory every … requests")
    ap.add_argument("--backlog", type=int, default=300, help="declarations waiting before the start (default 300)")
    ap.add_argument("--pg-url", default=DEFAULT_PG_URL, help="scratch PostgreSQL database (dropped and migrated)")
    args = ap.parse_args(argv)
    result = run(args.n, args.clients, args.sample, args.backlog, args.pg_url)
    return 0 if result and not result["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
