"""Annual reports and work summaries (年审报告 / 年度工作总结) and their review (``annual_report_approval``).

Drafts are edited and deleted; once declared (submitted even once) a report is never deleted, and the
institution follows each report's review state."""

from __future__ import annotations

from typing import Any

from app.accounts.actor import Actor
from app.core.errors import InvalidState, ValidationFailed
from app.extensions import db
from app.training import reviews
from app.training.access import current_org, owned
from app.training.models import AnnualReport
from app.workflow.models import ProcessInstance

KEY = "annual_report_approval"
_INVALID = "提交的内容有误，请按提示修改"


def _apply(report: AnnualReport, values: dict[str, Any], *, actor: Actor) -> None:
    report.attachment_ids = reviews.kept_attachments(report, values.get("attachment_ids") or [], actor=actor)
    report.year, report.name, report.notes = values["year"], values["name"], values.get("notes")


def create(actor: Actor, org_id: int | None, values: dict[str, Any]) -> AnnualReport:
    org = current_org(actor, org_id)
    report = AnnualReport(organisation_id=org.id, created_by_id=actor.id, attachment_ids=[])
    _apply(report, values, actor=actor)
    db.session.add(report)
    db.session.flush()
    return report


def get(actor: Actor, report_id: int) -> AnnualReport:
    return owned(actor, AnnualReport, report_id)


def update(actor: Actor, report_id: int, values: dict[str, Any]) -> AnnualReport:
    report = get(actor, report_id)
    reviews.check_editable(report, "报告已提交审核，不能修改")
    _apply(report, values, actor=actor)
    db.session.flush()
    return report


def delete(actor: Actor, report_id: int) -> None:
    report = get(actor, report_id)
    if report.submitted_at is not None:
        raise InvalidState("已申报的报告不能删除")
    db.session.delete(report)
    db.session.flush()


def snapshot(report: AnnualReport) -> dict[str, Any]:
    return {"report_id": report.id, "year": report.year, "name": report.name, "notes": report.notes or "",
            "attachments": list(report.attachment_ids or [])}


def submit(actor: Actor, report_id: int) -> ProcessInstance:
    report = get(actor, report_id)
    if not report.attachment_ids:
        raise ValidationFailed(_INVALID, {"attachment_ids": "请上传报告附件"})
    return reviews.submit(KEY, report, snapshot(report), actor=actor)


def withdraw(actor: Actor, report_id: int) -> ProcessInstance:
    return reviews.withdraw(get(actor, report_id), actor=actor)


def resubmit(actor: Actor, report_id: int) -> ProcessInstance:
    report = get(actor, report_id)
    return reviews.resubmit(report, snapshot(report), actor=actor)


def give_up(actor: Actor, report_id: int, comment: str = "") -> ProcessInstance:
    return reviews.give_up(get(actor, report_id), comment, actor=actor)


def for_start(data: dict[str, Any], actor: Actor) -> AnnualReport:
    return reviews.for_start(AnnualReport, data, "report_id", "报告不存在或您无权提交", actor=actor)
