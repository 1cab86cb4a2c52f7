"""The actor: a user with their memberships, passed explicitly to every service."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from app.accounts.models import Membership, Organisation, OrgStatus, Role, User

if TYPE_CHECKING:
    from app.people.models import Person

#: The role modules that open staff data to a sub-administrator.
STAFF_DATA_MODULES = ("people", "statistics")


@dataclass
class Actor:
    user: User
    memberships: list[Membership] = field(default_factory=list)

    @classmethod
    def of(cls, user: User) -> Actor:
        ms = list(user.memberships)  # loaded with the user (joined by load_user, else selectin): no extra query
        # A disabled organisation's administrators cannot act for it (they keep their own applications).
        ms = [m for m in ms if m.role == Role.MEMBER or m.organisation.status != OrgStatus.DISABLED]
        return cls(user=user, memberships=ms)

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def name(self) -> str:
        return self.user.name

    @property
    def person(self) -> Person | None:
        """The actor's own professional record (专技人员档案), if they have one (loaded with the user by the
        request's user loader; otherwise one query the first time)."""
        return self.user.person

    def org_ids_with(self, permission: str) -> list[int]:
        return [m.organisation_id for m in self.memberships if m.can(permission)]

    def can_in(self, org_id: int | None, permission: str) -> bool:
        return org_id is not None and org_id in self.org_ids_with(permission)

    def is_admin_of(self, org_id: int) -> bool:
        return any(m.organisation_id == org_id and m.role in (Role.ADMIN, Role.SUB_ADMIN)
                   for m in self.memberships)

    @cached_property
    def managed_orgs(self) -> list[Organisation]:
        """Organisations the actor administers (admin or sub-admin): the roots of their scope."""
        return [m.organisation for m in self.memberships if m.role in (Role.ADMIN, Role.SUB_ADMIN)]

    @cached_property
    def staff_roots(self) -> list[Organisation]:
        """Organisations whose staff data (archives, declaration records, certificates) the actor may see:
        administrators, and sub-administrators whose role holds 人员管理 or 统计查询."""
        return [m.organisation for m in self.memberships if m.role in (Role.ADMIN, Role.SUB_ADMIN)
                and any(m.can(module) for module in STAFF_DATA_MODULES)]

    def sees_staff_of(self, org: Organisation | None) -> bool:
        """True when ``org`` is at or below one of :attr:`staff_roots`."""
        return org is not None and any(org.path.startswith(root.path) for root in self.staff_roots)

    def in_scope(self, org: Organisation | None) -> bool:
        """True when ``org`` is one of the actor's managed organisations or below one."""
        if org is None:
            return False
        return any(org.path.startswith(root.path) for root in self.managed_orgs)
