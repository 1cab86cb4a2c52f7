"""Demo roles and departments (idempotent: looked up by organisation and name first)."""

from __future__ import annotations

from sqlalchemy import select

from app.accounts.models import Organisation
from app.extensions import db

from .models import AdminRole, Department

#: (organisation name, role name, modules)
ROLES = [
    ("市第一人民医院", "学时审核员", ["credit_review"]),
    ("市第一人民医院", "人事专员", ["people", "statistics"]),
    ("市卫生健康委员会", "审核与机构管理", ["credit_review", "registration_review", "organisation"]),
]

#: (organisation name, department name, parent department name)
DEPARTMENTS = [
    ("市第一人民医院", "人事科", None),
    ("市第一人民医院", "医务科", None),
    ("市第一人民医院", "继续教育办公室", "医务科"),
    ("市卫生健康委员会", "科技教育处", None),
]


def seed_org_extras() -> int:
    created = 0
    orgs = {o.name: o for o in db.session.scalars(select(Organisation))}
    for org_name, name, modules in ROLES:
        org = orgs.get(org_name)
        if org is None or db.session.scalar(select(AdminRole.id).where(AdminRole.organisation_id == org.id,
                                                                      AdminRole.name == name)):
            continue
        db.session.add(AdminRole(organisation_id=org.id, name=name, modules=modules))
        created += 1
    for org_name, name, parent_name in DEPARTMENTS:
        org = orgs.get(org_name)
        if org is None:
            continue
        parent = None
        if parent_name:
            parent = db.session.scalar(select(Department).where(Department.organisation_id == org.id,
                                                                Department.name == parent_name))
        exists = db.session.scalar(select(Department.id).where(
            Department.organisation_id == org.id, Department.name == name,
            Department.parent_id == parent.id if parent else Department.parent_id.is_(None)))
        if exists:
            continue
        db.session.add(Department(organisation_id=org.id, name=name, parent_id=parent.id if parent else None,
                                  status="active"))
        db.session.flush()
        created += 1
    db.session.flush()
    return created
