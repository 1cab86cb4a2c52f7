"""marshmallow schema of a background job as the API and the task centre's page script read it."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate
from marshmallow.experimental.context import Context

from app.api.schemas import ApiTime
from app.taskcentre.models import FINISHED, BackgroundJob


class JobSchema(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    title = fields.String()
    status = fields.String(required=True, validate=validate.OneOf(("queued", "running", "finished", "failed")))
    done = fields.Integer(required=True)
    total = fields.Integer(required=True)
    percent = fields.Integer()
    message = fields.String(allow_none=True)
    error = fields.String(allow_none=True)
    created_at = ApiTime()
    finished_at = ApiTime(allow_none=True)
    download_url = fields.Function(
        lambda job: Context[dict[str, Any]].get(default={}).get("download_url") if job.status == FINISHED else None,
        allow_none=True, metadata={"description": "once finished"})


def dump_job(job: BackgroundJob, download_url: str | None) -> dict[str, Any]:
    with Context({"download_url": download_url}):
        return JobSchema().dump(job)
