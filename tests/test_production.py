"""The production command (scripts/serve.sh: migrations, rq workers, gunicorn with two workers) started for
real on a free port against a PostgreSQL database of its own: ready, one credit-hour chain through the JSON API,
the metrics and the JSON logs that chain left, and a clean stop."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DECLARATION, IN_CI, postgres_available
from tests.servers import seeded_database

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _services() -> None:
    from redis import Redis

    reason = postgres_available()
    if reason is None:
        try:
            Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
        except Exception as exc:  # noqa: BLE001
            reason = f"Redis at {REDIS_URL}: {exc}"
    if reason:
        if IN_CI:
            pytest.fail(f"CI=true but a service is missing: {reason}")
        pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Http:
    def __init__(self, base: str) -> None:
        self.base = base

    def call(self, method: str, path: str, body: Any = None, token: str | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, Any, dict[str, str]]:
        req = urllib.request.Request(self.base + path, method=method,
                                     data=None if body is None else json.dumps(body).encode())
        req.add_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            req.add_header(name, value)
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                status, text, got = resp.status, resp.read().decode(), dict(resp.headers)
        except urllib.error.HTTPError as exc:
            status, text, got = exc.code, exc.read().decode(), dict(exc.headers)
        try:
            return status, json.loads(text), got
        except ValueError:
            return status, text, got

    def token(self, login: str) -> str:
        status, body, _ = self.call("POST", "/api/v1/auth/token", {"login": login, "password": "Demo12345"})
        assert status == 200, body
        return body["token"]


@pytest.fixture
def production(tmp_path: Path):
    _services()
    port = _free_port()
    log = tmp_path / "serve.log"
    env = {
        # migrated and seeded here with the tests' cheap password hashing (seeding with the strong one takes
        # half a minute); the command still runs its migrations (none left) and syncs the processes
        **os.environ, "DATABASE_URL": seeded_database("prod"), "REDIS_URL": REDIS_URL,
        "BIND": f"127.0.0.1:{port}", "WEB_WORKERS": "2", "PYTHON": sys.executable,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"), "SECRET_KEY": "production-test",
        # a queue of its own: other test runs on this machine share the Redis database
        "WORKER_QUEUES": f"cepp_prodtest_{os.getpid()}", "CAPTCHA_ENABLED": "0",
    }
    with log.open("wb") as out:
        proc = subprocess.Popen([str(ROOT / "scripts" / "serve.sh")], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    http = Http(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, log.read_text()[-3000:]
            try:
                if http.call("GET", "/readyz")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.3)
        yield http, proc, log
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)


def _metric(text: str, name: str, **labels: str) -> float:
    """The sample ``name{labels}`` (labels matched whatever their order), 0 when absent."""
    for line in text.splitlines():
        m = re.fullmatch(r"([a-z_]+)\{(.*)\} (\S+)", line)
        if m and m[1] == name and dict(re.findall(r'(\w+)="([^"]*)"', m[2])) == labels:
            return float(m[3])
    return 0.0


def test_serve_command_is_ready_runs_a_chain_counts_it_and_stops(production):
    http, proc, log = production
    status, body, _ = http.call("GET", "/healthz")
    assert (status, body) == (200, {"status": "ok"})
    assert http.call("GET", "/readyz")[1] == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}

    token = http.token("chenshihui")
    status, inst, headers = http.call("POST", "/api/v1/processes/credit_hour_approval/instances", DECLARATION,
                                      token, {"X-Request-ID": "trace-declaration-0001"})
    assert status == 201, inst
    assert headers["X-Request-ID"] == "trace-declaration-0001"
    for reviewer in ("hospital_admin", "health_admin", "hr_city"):
        rtoken = http.token(reviewer)
        status, inbox, _ = http.call("GET", "/api/v1/tasks", token=rtoken)
        assert status == 200
        task = next(t for t in inbox["items"] if t["instance_id"] == inst["id"])
        status, inst, _ = http.call("POST", f"/api/v1/tasks/{task['id']}/complete",
                                    {"outcome": "approve", "comment": "", "recognised_hours": 18}, rtoken)
        assert status == 200, inst
    assert (inst["status"], inst["tasks"]) == ("completed", [])
    status, archive, _ = http.call("GET", "/api/v1/archive?year=2026", token=token)
    assert archive["hours"]["professional"] == 18

    status, text, headers = http.call("GET", "/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    # counted in both gunicorn workers, added up by whichever answered
    assert _metric(text, "cepp_http_requests_total", method="POST",
                   route="/api/v1/tasks/<task_id>/complete", status="200") == 3
    assert _metric(text, "cepp_http_request_duration_seconds_count", method="POST",
                   route="/api/v1/processes/<key>/instances") == 1
    assert _metric(text, "cepp_http_requests_total", method="GET", route="/readyz", status="200") >= 1
    assert _metric(text, "cepp_open_tasks", process="credit_hour_approval") == 0
    assert "cepp_background_jobs" in text

    os.killpg(proc.pid, signal.SIGTERM)
    assert proc.wait(30) == 0
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    access = [e for e in lines if e["logger"] == "cepp.access"]
    assert {"method": "POST", "route": "/api/v1/processes/<key>/instances", "status": 201,
            "request_id": "trace-declaration-0001"}.items() <= next(
        e for e in access if e.get("request_id") == "trace-declaration-0001").items()
    assert sum(e["route"] == "/api/v1/tasks/<task_id>/complete" for e in access) == 3
    assert any(e["logger"] == "gunicorn.error" for e in lines)  # gunicorn's own lines are JSON too


def test_a_worker_collects_all_garbage_every_n_requests(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """gunicorn.conf.py's post_request hook: with the raised threshold, a full collection every WEB_GC_FULL_EVERY
    requests (what keeps a worker's memory flat, bench_memory); none when set to 0 or with Python's threshold."""
    import gc
    import runpy

    calls: list[int] = []
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))  # the file sets it when missing: not for this process
    monkeypatch.setattr(gc, "collect", lambda *a: calls.append(1) or 0)
    conf_path = str(Path(__file__).resolve().parent.parent / "gunicorn.conf.py")
    for every, threshold, expected in (("3", "20000", 2), ("0", "20000", 0), ("3", "0", 0)):
        monkeypatch.setenv("WEB_GC_FULL_EVERY", every)
        monkeypatch.setenv("WEB_GC_THRESHOLD", threshold)
        conf = runpy.run_path(conf_path)
        calls.clear()
        for _ in range(7):
            conf["post_request"](None, None, {}, None)
        assert len(calls) == expected, (every, threshold)
