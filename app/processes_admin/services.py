"""Who may change approval chains, and the versions they see."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from app.accounts.actor import Actor
from app.accounts.models import OrgKind, Role
from app.core.errors import NotFound, PermissionDenied, ValidationFailed
from app.extensions import db
from app.workflow import versions
from app.workflow.engine import ProcessDefinitionError
from app.workflow.models import ProcessInstance, ProcessVersion

MAX_BPMN_BYTES = 2 * 1024 * 1024



def can_manage(actor: Actor) -> bool:
    """Administrators of a province-level HR bureau own the province's approval chains."""
    return any(m.role == Role.ADMIN and m.organisation.kind == OrgKind.HR_BUREAU
               and m.organisation.level == "province" for m in actor.memberships)


def _require(actor: Actor) -> None:
    if not can_manage(actor):
        raise PermissionDenied("只有省级人社部门管理员可以管理审批流程")


@dataclass(frozen=True)
class VersionRow:
    version: ProcessVersion
    running: int


def process_keys() -> list[str]:
    return sorted(p.stem for p in versions.PROCESSES_DIR.glob("*.bpmn"))


def overview(actor: Actor) -> list[ProcessVersion]:
    """The current version of every shipped process."""
    _require(actor)
    return [v for v in (versions.current_version(k) for k in process_keys()) if v is not None]


def history(actor: Actor, key: str) -> list[VersionRow]:
    """Every version of ``key``, newest first, with its running instances."""
    _require(actor)
    if key not in process_keys():
        raise NotFound("没有这个审批流程")
    versions.current_version(key)
    running = dict(db.session.execute(
        select(ProcessInstance.process_version_id, func.count())
        .where(ProcessInstance.status == "running").group_by(ProcessInstance.process_version_id)).all())
    rows = db.session.scalars(select(ProcessVersion).where(ProcessVersion.process_key == key)
                              .order_by(ProcessVersion.version.desc()))
    return [VersionRow(v, running.get(v.id, 0)) for v in rows]


def version(actor: Actor, key: str, number: int) -> ProcessVersion:
    _require(actor)
    row = db.session.scalar(select(ProcessVersion).where(ProcessVersion.process_key == key,
                                                         ProcessVersion.version == number))
    if row is None:
        raise NotFound("没有这个流程版本")
    return row


def upload(actor: Actor, key: str, filename: str, data: bytes) -> ProcessVersion:
    """Store an edited diagram of ``key`` as its new active version; errors name the offending element."""
    _require(actor)
    if key not in process_keys():
        raise NotFound("没有这个审批流程")
    if not filename.lower().endswith(".bpmn"):
        raise ValidationFailed("文件类型不对", fields={"file": "请上传 .bpmn 文件（BPMN 2.0 XML）"})
    if len(data) > MAX_BPMN_BYTES:
        raise ValidationFailed("文件太大", fields={"file": "流程文件不能超过 2MB"})
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationFailed("文件编码不对", fields={"file": "流程文件必须是 UTF-8 编码的 XML"}) from None
    try:
        return versions.upload(text, expected_key=key, actor=actor)
    except ProcessDefinitionError as exc:
        raise ValidationFailed("流程文件未通过检查，未保存", fields={"file": str(exc)}) from None
