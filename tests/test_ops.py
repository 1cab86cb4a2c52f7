"""Probes, request ids, content-hashed static files (in-process; the whole production command is
tests/test_production.py)."""

from __future__ import annotations

import logging

from flask import url_for

from app.ops.logs import JsonFormatter


def test_readyz_answers_503_naming_what_is_down(app, monkeypatch):
    client = app.test_client()
    assert client.get("/readyz").json == {"status": "ready", "checks": {"database": "ok"}}
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    resp = client.get("/readyz")
    assert resp.status_code == 503
    assert resp.json == {"status": "unavailable", "checks": {"database": "ok", "redis": "ConnectionError"}}
    assert client.get("/healthz").status_code == 200  # the process itself is up


def test_every_answer_carries_a_request_id_and_keeps_a_sensible_one_sent(app):
    client = app.test_client()
    mine = client.get("/healthz", headers={"X-Request-ID": "lb-1234abcd"}).headers["X-Request-ID"]
    made = client.get("/healthz", headers={"X-Request-ID": "<script>alert(1)</script>"}).headers["X-Request-ID"]
    assert mine == "lb-1234abcd"
    assert len(made) == 32 and made != client.get("/healthz").headers["X-Request-ID"]


def test_a_job_enqueued_by_a_request_logs_with_that_requests_id(app, monkeypatch):
    """The rq job carries the request id in its meta; inside the job the JSON log line names it."""
    import fakeredis
    import redis
    from rq import Queue, SimpleWorker

    from app.core.jobs import enqueue

    server = fakeredis.FakeServer()
    monkeypatch.setattr(redis.Redis, "from_url", classmethod(lambda cls, url, **kw: fakeredis.FakeRedis(server=server)))
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://fake")
    with app.test_request_context(headers={"X-Request-ID": "req-0000feed"}):
        app.preprocess_request()
        job = enqueue(_log_a_line, queue="ops_test")
    assert job.meta["request_id"] == "req-0000feed"
    conn = fakeredis.FakeRedis(server=server)
    SimpleWorker([Queue("ops_test", connection=conn)], connection=conn).work(burst=True)
    job.refresh()
    assert '"request_id": "req-0000feed"' in job.return_value()


def _log_a_line() -> str:
    record = logging.LogRecord("cepp.job", logging.INFO, __file__, 1, "job ran", (), None)
    return JsonFormatter().format(record)


def test_static_urls_carry_the_content_hash_and_those_are_cached_for_a_year(app):
    client = app.test_client()
    with app.test_request_context():
        own = url_for("static", filename="js/case-diagram.js")
        bootstrap = url_for("bootstrap.static", filename="css/bootstrap.min.css")
    assert own.startswith("/static/js/case-diagram.") and own.endswith(".js")
    assert len(own) == len("/static/js/case-diagram.js") + 13
    for url in (own, bootstrap):
        with client.get(url) as resp:
            assert resp.status_code == 200
            assert resp.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    with client.get("/static/js/case-diagram.js") as plain:
        assert "max-age=31536000" not in plain.headers.get("Cache-Control", "")
    # an old page after a deployment: served, but not cached for a year
    with client.get("/static/js/case-diagram.000000000000.js") as stale:
        assert stale.status_code == 200 and "immutable" not in stale.headers.get("Cache-Control", "")
    page = client.get("/login").get_data(as_text=True)
    assert bootstrap in page


def test_metrics_count_requests_by_route_and_read_open_tasks(app, declaration, as_user):
    from app.extensions import db
    from app.workflow import services

    services.start_process("credit_hour_approval", declaration, actor=as_user("chenshihui"))
    db.session.commit()
    client = app.test_client()
    client.get("/healthz")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'cepp_open_tasks{process="credit_hour_approval"} 1.0' in text
    assert 'cepp_http_requests_total{method="GET",route="/healthz",status="200"}' in text
