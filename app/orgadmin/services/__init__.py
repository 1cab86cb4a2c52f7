"""Administrators, roles, departments and subordinate organisations (issue 4 items 4–6).

Every function takes the actor explicitly and never commits. Who may do what:

* an organisation's **super administrator** (role ``admin``) adds, re-roles, transfers to and deletes
  its sub-administrators and manages its roles;
* departments: the super admin, or a sub-admin holding the ``organisation`` module (机构管理);
* subordinate organisations (everything strictly below the actor's organisation): the super admin of
  a supervisory department or HR bureau, or a sub-admin of one holding ``organisation``.

Anything outside that scope answers NotFound, never "forbidden", so nothing leaks its existence.
"""

from __future__ import annotations

from app.accounts.passwords import (
    must_change_password,  # noqa: F401
    password_error,  # noqa: F401
)

from .admins import (  # noqa: F401
    AdminRow,
    add_member_as_sub_admin,
    add_registered_user_as_sub_admin,
    assign_role,
    list_admins,
    members_without_admin_role,
    register_sub_admin,
    remove_sub_admin,
    reset_admin_password,
    set_admin_active,
    transfer_super_admin,
)
from .departments import (  # noqa: F401
    create_department,
    get_department,
    list_departments,
    update_department,
)
from .roles import (  # noqa: F401
    create_role,
    delete_role,
    get_role,
    list_roles,
    role_holders,
    update_role,
)
from .scope import (  # noqa: F401
    INVALID,
    ORG_MODULE,
    SUPERVISING_KINDS,
    can_manage_departments,
    can_supervise,
    capabilities,
    current_org,
    is_super_admin,
    managed_organisations,
    supervised_org,
)
from .subordinates import (  # noqa: F401
    SubordinateRow,
    list_subordinates,
    module_labels,
    set_org_status,
    set_review_enabled,
)
