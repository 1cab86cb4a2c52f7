"""Shared bits of the registration tests: fresh valid codes, a small PNG, form data."""

from __future__ import annotations

from io import BytesIO

from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from app.accounts.models import Organisation
from app.extensions import db
from app.registration import senders, services

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PASSWORD = "Abc12345"


def id_number(first17: str) -> str:
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return first17 + "10X98765432"[total % 11]


def uscc(first17: str) -> str:
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return first17 + _USCC_CHARS[(31 - total % 31) % 31]


ZHANG = id_number("35010219900101123")
LI = id_number("35010219850612456")
NEW_USCC = uscc("91350102MA8RTY4K3")
OTHER_USCC = uscc("12350100MB0123456")


def org(name: str) -> Organisation:
    return db.session.scalar(select(Organisation).where(Organisation.name == name))


def licence(data: bytes = PNG, name: str = "licence.png") -> FileStorage:
    return FileStorage(stream=BytesIO(data), filename=name)


def code_for(mobile: str) -> str:
    services.send_registration_code(mobile)
    return senders.last_code(mobile) or ""


def person(**kw) -> dict:
    data = {"login": "zhangsan", "name": "张三", "id_number": ZHANG, "mobile": "13912345678",
            "email": "zs@example.com", "password": PASSWORD, "password_confirm": PASSWORD,
            "unit_id": org("市第一人民医院").id}
    data.update(kw)
    return data


def employer_unit(**kw) -> dict:
    data = {"kind": "employer_unit", "name": "福州仁心医疗器械有限公司", "uscc": NEW_USCC, "nature": "企业",
            "level": "市级", "phone": "0591-87654321", "industry": "卫生", "region": "福建省-福州市",
            "parent_id": org("市卫生健康委员会").id, "address": "福州市鼓楼区五四路1号", "principal": "林总",
            "admin_mode": "new", "admin_login": "renxin_admin", "admin_name": "李四", "admin_id_number": LI,
            "admin_mobile": "13712345678", "admin_password": PASSWORD, "admin_password_confirm": PASSWORD}
    data.update(kw)
    return data
