"""Structured logs: one JSON object a line, with the request id of the request (or of the request that
enqueued the background job) the line belongs to."""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, g, has_request_context, request

#: A request id a client or a proxy sends (X-Request-ID) is kept when it looks like one.
_GOOD_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
REQUEST_ID_HEADER = "X-Request-ID"


def request_id() -> str | None:
    """The current request's id; inside a background job, the id of the request that enqueued it."""
    if has_request_context():
        return getattr(g, "request_id", None)
    try:
        from rq import get_current_job

        job = get_current_job()
    except Exception:  # noqa: BLE001  (no rq job here)
        return None
    return job.meta.get("request_id") if job is not None else None


def new_request_id() -> str:
    sent = request.headers.get(REQUEST_ID_HEADER, "")
    return sent if _GOOD_ID.match(sent) else uuid.uuid4().hex


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "message", "request_id", ...}``; more fields as ``extra={"fields": {...}}``."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = request_id()
        if rid:
            entry["request_id"] = rid
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(app: Flask) -> None:
    """LOG_FORMAT=json: every logger of the process (the app, gunicorn's error log, rq) writes JSON lines to
    stderr at LOG_LEVEL. Otherwise logging stays as Flask sets it up (development, tests)."""
    if app.config.get("LOG_FORMAT") != "json":
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(app.config.get("LOG_LEVEL", "INFO"))
    for name in ("flask.app", app.logger.name, "gunicorn.error", "rq.worker"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []  # through the root handler: one format
        logger.propagate = True
    from app.workflow.engine import quiet_engine_logs

    quiet_engine_logs()
