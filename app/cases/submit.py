"""One way to send a form with its uploads to the workflow, for starting a case and completing a task.

This is the edge of a web request: it reads the request's form and files and commits (good uploads are kept
even when the form has to be shown again; the action and its attachments commit together)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import request
from flask_babel import gettext as _

from app.accounts.actor import Actor
from app.core.errors import InvalidState, ValidationFailed
from app.extensions import db
from app.workflow import attachments, webforms
from app.workflow.forms import coerce, validate
from app.workflow.models import ProcessInstance


@dataclass
class Submission:
    """What became of a form: the instance it started or advanced, or the values with their errors."""

    raw: dict[str, Any]
    instance: ProcessInstance | None = None
    errors: dict[str, str] = field(default_factory=dict)
    message: str | None = None
    status: int = 200

    @property
    def ok(self) -> bool:
        return self.instance is not None


def submit_with_uploads(schema: dict, ui: dict, action: Callable[[dict[str, Any]], ProcessInstance], *,
                        actor: Actor, instance: ProcessInstance | None = None,
                        fixed: dict[str, Any] | None = None,
                        context: Callable[[], dict[str, Any]] | None = None) -> Submission:
    """Take the request's form for ``schema``: store its uploads, then run ``action(raw)`` (a workflow
    service: start or complete) and link the uploads to the instance it returns, in one commit.

    ``fixed``: values the page sets itself (e.g. the organisation of the URL), over what was posted.
    ``instance``: the case a task belongs to (its attachments may be reused). ``context``: the data the
    form's rules compare with, asked for only when uploads failed (the instance's data for a
    task)."""
    raw = webforms.raw_from_form(schema, ui, request.form)
    raw.update(fixed or {})
    file_fields = webforms.file_fields(schema, ui)
    new_ids, upload_errors = attachments.take_uploads(file_fields, raw, request.files, actor=actor,
                                                      instance=instance)
    if new_ids:
        db.session.commit()  # good files stay uploaded even if the form has to be shown again
    if upload_errors:
        errors = {**validate(schema, coerce(schema, raw), context() if context else {}), **upload_errors}
        return Submission(raw, errors=errors, message=_("提交的内容有误，请按提示修改"), status=422)
    refused: tuple[type[Exception], ...] = (ValidationFailed,) if instance is not None else (ValidationFailed,
                                                                                              InvalidState)
    try:
        result = action(raw)
    except refused as exc:  # a task no longer open (InvalidState) is the error page's to explain
        db.session.rollback()
        return Submission(raw, errors=dict(exc.fields), message=exc.message,
                          status=409 if isinstance(exc, InvalidState) else 422)
    linked = [i for name in file_fields for i in (raw.get(name) or [])]
    attachments.link(linked, result, actor=actor)
    db.session.commit()
    return Submission(raw, instance=result)
