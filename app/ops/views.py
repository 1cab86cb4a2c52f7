"""Probes and metrics: ``/healthz`` (the process answers), ``/readyz`` (the database and Redis answer; 503
otherwise), ``/metrics`` (Prometheus text format); and the per-request hooks behind them."""

from __future__ import annotations

import logging
import time

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from sqlalchemy import text

from app.extensions import csrf, db
from app.ops import metrics
from app.ops.logs import REQUEST_ID_HEADER, configure_logging, new_request_id

bp = Blueprint("ops", __name__)
access_log = logging.getLogger("cepp.access")


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    checks: dict[str, str] = {}
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001  (any failure means: not ready)
        db.session.rollback()
        checks["database"] = type(exc).__name__
    url = current_app.config.get("REDIS_URL")
    if url:
        from redis import Redis

        try:
            conn = Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
            conn.ping()
            conn.close()
            checks["redis"] = "ok"
        except Exception as exc:  # noqa: BLE001
            checks["redis"] = type(exc).__name__
    ready = all(v == "ok" for v in checks.values())
    return jsonify(status="ready" if ready else "unavailable", checks=checks), 200 if ready else 503


@bp.get("/metrics")
def metrics_view() -> Response:
    token = current_app.config.get("METRICS_TOKEN")
    if token and request.headers.get("Authorization") != f"Bearer {token}":
        return Response("unauthorized\n", 401, {"WWW-Authenticate": 'Bearer realm="metrics"'})
    return metrics.exposition()


def init_app(app: Flask) -> None:
    """Request ids, timing, metrics and the access log for every request (registered before any other hook)."""
    configure_logging(app)
    access = app.config.get("LOG_FORMAT") == "json" and app.config.get("ACCESS_LOG", True)

    @app.before_request
    def _start() -> None:
        g.started = time.perf_counter()
        g.request_id = new_request_id()

    @app.after_request
    def _finish(resp: Response) -> Response:
        elapsed = metrics.observe(resp.status_code)
        rid = g.get("request_id")
        if rid:
            resp.headers[REQUEST_ID_HEADER] = rid
        if access:
            access_log.info("%s %s %s", request.method, request.path, resp.status_code, extra={"fields": {
                "method": request.method, "path": request.path, "route": metrics.route_label(),
                "status": resp.status_code, "duration_ms": round(elapsed * 1000, 2),
                "remote_addr": request.remote_addr}})
        return resp

    app.register_blueprint(bp)
    csrf.exempt(bp)
