"""Who works in which training workspace: the organisations where the actor holds 培训管理 (``training``).

Administrators hold every module; a sub-admin needs ``training`` in their role. Anything else is a 404, as
for every scope rule (design §1)."""

from __future__ import annotations

from typing import TypeVar

from app.accounts.actor import Actor
from app.accounts.models import Organisation, OrgKind
from app.core.errors import NotFound
from app.extensions import db

PERMISSION = "training"
#: Training institutions, and units that train their own staff.
KINDS = (OrgKind.TRAINING_INSTITUTION, OrgKind.EMPLOYER_UNIT)

T = TypeVar("T")


def training_orgs(actor: Actor) -> list[Organisation]:
    return [m.organisation for m in actor.memberships
            if m.can(PERMISSION) and m.organisation.kind in KINDS]


def can_use(actor: Actor) -> bool:
    return bool(training_orgs(actor))


def current_org(actor: Actor, org_id: int | None = None) -> Organisation:
    """The workspace asked for (``org_id``), else the actor's first one; 404 when they have none."""
    orgs = training_orgs(actor)
    for org in orgs:
        if org_id is None or org.id == org_id:
            return org
    raise NotFound("页面不存在")


def owned(actor: Actor, model: type[T], row_id: int) -> T:
    """The row, if it belongs to an organisation of the actor's workspaces; otherwise 404."""
    row = db.session.get(model, row_id)
    if row is None or row.organisation_id not in {o.id for o in training_orgs(actor)}:  # type: ignore[attr-defined]
        raise NotFound("记录不存在或您无权查看")
    return row
