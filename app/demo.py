"""Demo data (issue 2 §8): the organisation tree and the fixed demo accounts.

Running it again changes nothing: every row is looked up by its natural key first.
"""

from __future__ import annotations

from sqlalchemy import select

from app.accounts.models import Membership, Organisation, OrgKind, Role, User
from app.accounts.services import hash_password
from app.extensions import db
from app.people.models import Person

DEMO_PASSWORD = "Demo12345"

#: (key, name, kind, level, parent key, region, uscc)
ORGS = [
    ("province", "省人力资源和社会保障厅", OrgKind.HR_BUREAU, "province", None, "福建省", None),
    ("city", "市人力资源和社会保障局", OrgKind.HR_BUREAU, "city", "province", "福建省-福州市", None),
    ("district", "区人力资源和社会保障局", OrgKind.HR_BUREAU, "district", "city", "福建省-福州市-鼓楼区", None),
    ("health", "市卫生健康委员会", OrgKind.SUPERVISORY_DEPARTMENT, None, "city", "福建省-福州市", None),
    ("hospital", "市第一人民医院", OrgKind.EMPLOYER_UNIT, None, "health", "福建省-福州市", None),
    ("tech", "福州智造科技有限公司", OrgKind.EMPLOYER_UNIT, None, "district", "福建省-福州市-鼓楼区",
     "91410104MA9G8NFR0H"),
    ("institute", "市继续教育学院", OrgKind.TRAINING_INSTITUTION, None, "city", "福建省-福州市", None),
]

#: (login, name, org key, role)
ADMINS = [
    ("hr_province", "省人社厅管理员", "province"),
    ("hr_city", "市人社局管理员", "city"),
    ("hr_district", "区人社局管理员", "district"),
    ("health_admin", "市卫健委管理员", "health"),
    ("hospital_admin", "市一医院管理员", "hospital"),
    ("tech_admin", "智造科技管理员", "tech"),
    ("institute_admin", "继续教育学院管理员", "institute"),
]

#: (login, name, id number, gender, unit key, title series, title level)
PEOPLE = [
    ("chenshihui", "陈诗慧", "110101199003072711", "女", "hospital", "卫生系列", "中级"),
    ("liuwenbin", "刘文斌", "321101198110166954", "男", "hospital", "卫生系列", "副高级"),
    ("wangliping", "王立平", "440102198001010013", "男", "tech", "工程系列", "中级"),
]


def _org(name: str) -> Organisation | None:
    return db.session.scalar(select(Organisation).where(Organisation.name == name))


def _user(login: str) -> User | None:
    return db.session.scalar(select(User).where(User.login == login))


def seed() -> int:
    """Create what is missing; return how many rows were added."""
    created = 0
    orgs: dict[str, Organisation] = {}
    for key, name, kind, level, parent_key, region, uscc in ORGS:
        org = _org(name)
        if org is None:
            parent = orgs.get(parent_key) if parent_key else None
            org = Organisation(name=name, kind=kind, level=level, parent_id=parent.id if parent else None,
                               region=region, uscc=uscc, industry="卫生" if key in ("health", "hospital") else None)
            db.session.add(org)
            db.session.flush()
            org.path = (parent.path if parent else "/") + f"{org.id}/"
            created += 1
        orgs[key] = org
    password = None
    for login, name, org_key in ADMINS:
        if _user(login) is None:
            password = password or hash_password(DEMO_PASSWORD)
            user = User(login=login, name=name, password_hash=password)
            db.session.add(user)
            db.session.flush()
            db.session.add(Membership(user_id=user.id, organisation_id=orgs[org_key].id, role=Role.ADMIN,
                                      permissions=[]))
            created += 2
    for login, name, id_number, gender, unit_key, series, level in PEOPLE:
        if _user(login) is None:
            password = password or hash_password(DEMO_PASSWORD)
            user = User(login=login, name=name, id_number=id_number, password_hash=password,
                        mobile="13800000000")
            db.session.add(user)
            db.session.flush()
            db.session.add(Membership(user_id=user.id, organisation_id=orgs[unit_key].id, role=Role.MEMBER,
                                      permissions=[]))
            db.session.add(Person(user_id=user.id, name=name, id_number=id_number, gender=gender,
                                  unit_id=orgs[unit_key].id, title_series=series, title_level=level))
            created += 3
    db.session.flush()
    from app.orgadmin.demo import seed_org_extras

    created += seed_org_extras()
    from app.workflow.versions import sync_all

    sync_all()
    return created
