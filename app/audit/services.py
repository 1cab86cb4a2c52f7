"""The write API of the audit log: :func:`record`, called by the service that performs the action, in the
action's own transaction (an action rolled back leaves no entry, except those kept on purpose: see ``keep``).

Every domain records here, accounts too, so this package imports no domain package (only for typing): an actor
is anything with a ``user``, a user anything with ``id``, ``login`` and ``memberships``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import has_request_context, request
from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Session
from sqlalchemy.orm.session import SessionTransaction

from app.core.batch import WriteBatch
from app.core.models import utcnow
from app.extensions import db

from .models import AuditEntry

if TYPE_CHECKING:
    from app.accounts.actor import Actor
    from app.accounts.models import User

#: Every action code with its label (pages show it through ``|tr``).
ACTIONS: dict[str, str] = {
    "auth.sign_in": "登录成功",
    "auth.sign_in_failed": "登录失败",
    "auth.password_failed": "密码验证失败",
    "task.complete": "审批办理",
    "case.withdraw": "撤回申请",
    "role.create": "新建角色",
    "role.update": "修改角色权限",
    "role.delete": "删除角色",
    "admin.add": "添加子管理员",
    "admin.assign_role": "分配角色",
    "admin.transfer": "转让超级管理员",
    "admin.remove": "删除子管理员",
    "admin.disable": "禁用管理员",
    "admin.enable": "启用管理员",
    "admin.reset_password": "重置管理员密码",
    "org.disable": "禁用下级机构",
    "org.enable": "启用下级机构",
    "org.review_on": "开启审核权限",
    "org.review_off": "关闭审核权限",
    "process.deploy": "部署审批流程",
    "process.migrate": "迁移申请到新流程版本",
    "decision.deploy": "部署决策表",
    "form.save": "修改表单",
    "form.delete": "删除表单",
    "export.certificate_batch": "批量导出证书",
    "export.download": "下载导出文件",
    "statistics.export": "导出统计表",
    "person.add": "新增人员",
    "person.update": "修改人员信息",
    "person.self_update": "本人完善个人信息",
    "org.profile_update": "修改单位资料",
    "person.reset_password": "重置人员密码",
    "person.unbind": "解除人员绑定",
    "person.bind_approve": "确认人员绑定",
    "person.bind_reject": "拒绝人员绑定",
    "import.start": "批量导入",
    "export.people": "导出人员名单",
    "export.archive": "导出档案查询结果",
    "integrity.record": "录入失信信息",
    "integrity.revoke": "撤销失信信息",
    "legacy.claim": "绑定历史数据",
    "export.declarations": "导出学时申报记录",
    "export.reviewed": "导出已审核列表",
    "export.inbox": "导出待办任务列表",
    "export.class_members": "导出培训班人员",
}

_INSERT = insert(AuditEntry.__table__)
_COLUMNS = tuple(c.name for c in AuditEntry.__table__.columns if c.name != "id")
#: Entries that must outlive a rollback of the action (a failed sign-in): session.info key.
_KEPT = "audit.kept"
#: Kept entries whose transaction was rolled back, written by :func:`write_kept` after the request.
_PENDING = "audit.pending"


def client_address() -> str | None:
    """Where the request came from (None outside a request: jobs, the CLI)."""
    return (request.remote_addr or None) if has_request_context() else None


def _primary_org_id(user: User) -> int | None:
    """The organisation an action of ``user`` is filed under when nothing more precise is known: the first
    they administer, else the first they belong to."""
    memberships = sorted(user.memberships, key=lambda m: (m.role == "member", m.id))
    return memberships[0].organisation_id if memberships else None


def _object(obj: Any) -> tuple[str | None, str | None, int | None]:
    """(object type, object id, its organisation) of a model instance, or of a ``(type, id)`` pair."""
    if obj is None:
        return None, None, None
    if isinstance(obj, tuple):
        return str(obj[0]), str(obj[1]), None
    table = obj.__tablename__
    key = inspect(obj).identity
    org_id = obj.id if table == "organisation" else getattr(obj, "organisation_id", None)
    return table, ",".join(map(str, key)) if key else None, org_id


def record(action: str, *, actor: Actor | User | None, obj: Any = None, details: dict[str, Any] | None = None,
           org_id: int | None = None, login: str | None = None, writes: WriteBatch | None = None,
           keep: bool = False) -> None:
    """Append an entry: ``actor`` did ``action`` (a key of :data:`ACTIONS`) to ``obj`` (a model instance, or a
    ``(type, id)`` pair), at this request's client address.

    The entry is filed under ``org_id``, else the object's organisation, else the actor's. ``login``: what
    was typed, when there is no actor (a failed sign-in). ``writes``: the action's write batch, to send the
    entry with its other writes. ``keep``: the entry stays even if the action's transaction is rolled back or
    never committed (written after the request in a transaction of its own, as
    :func:`app.accounts.services.keep_password_failure` does for the lockout count)."""
    assert action in ACTIONS, action
    user = getattr(actor, "user", actor)  # an Actor, or a User (a sign-in)
    object_type, object_id, object_org = _object(obj)
    if org_id is None:
        org_id = object_org if object_org is not None else (_primary_org_id(user) if user is not None else None)
    row = dict.fromkeys(_COLUMNS)
    row.update(at=utcnow(), actor_user_id=user.id if user is not None else None,
               actor_login=(user.login if user is not None else (login or "").strip()[:64] or None),
               organisation_id=org_id, action=action, object_type=object_type, object_id=object_id,
               client_address=client_address(), details=details or None)
    if writes is not None:
        writes.add(_INSERT, row)
        return
    db.session.add(AuditEntry(**row))
    if keep:
        db.session.info.setdefault(_KEPT, []).append(row)


@event.listens_for(Session, "after_commit")
def _forget_kept(session: Session) -> None:
    if not session.in_nested_transaction():
        session.info.pop(_KEPT, None)


@event.listens_for(Session, "after_soft_rollback")
def _keep_rolled_back(session: Session, previous: SessionTransaction) -> None:
    if previous.parent is not None:  # a savepoint: the outer transaction goes on
        return
    kept = session.info.pop(_KEPT, None)
    if kept:
        session.info.setdefault(_PENDING, []).extend(kept)


def write_kept() -> None:
    """After the request (its commit or rollback is done): write the kept entries whose transaction was
    rolled back or never committed (a download answers without a commit), in a transaction of their own."""
    pending = db.session.info.pop(_PENDING, []) + db.session.info.pop(_KEPT, [])
    if not pending:
        return
    db.session.rollback()  # whatever the request left uncommitted was going to be discarded
    db.session.add_all(AuditEntry(**row) for row in pending)
    db.session.commit()
