"""National code checks: ID numbers (GB 11643), USCC (GB 32100), mobile numbers.

Each check returns ``None`` when the value is valid, otherwise a Chinese message naming the
rule that failed, so forms and the API can show it next to the field.
"""

from __future__ import annotations

import re
from datetime import date

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def normalise_id_number(value: str) -> str:
    return (value or "").strip().upper()


def id_number_error(value: str) -> str | None:
    v = normalise_id_number(value)
    if len(v) != 18:
        return "身份证号码应为18位"
    if not v[:17].isdigit() or not (v[17].isdigit() or v[17] == "X"):
        return "身份证号码前17位应为数字，最后一位为数字或X"
    try:
        born = date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        return "身份证号码中的出生日期无效"
    if born > date.today() or born.year < 1900:
        return "身份证号码中的出生日期无效"
    total = sum(int(c) * w for c, w in zip(v[:17], _ID_WEIGHTS, strict=True))
    if _ID_CHECK[total % 11] != v[17]:
        return "身份证号码校验位不正确"
    return None


def uscc_error(value: str) -> str | None:
    v = (value or "").strip().upper()
    if len(v) != 18:
        return "统一社会信用代码应为18位"
    if any(c not in _USCC_CHARS for c in v):
        return "统一社会信用代码含有无效字符"
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(v[:17], _USCC_WEIGHTS, strict=True))
    expected = _USCC_CHARS[(31 - total % 31) % 31]
    if v[17] != expected:
        return "统一社会信用代码校验位不正确"
    return None


def mobile_error(value: str) -> str | None:
    if not _MOBILE.match((value or "").strip()):
        return "手机号码应为以1[3-9]开头的11位数字"
    return None


def mask_id_number(value: str | None) -> str:
    if not value:
        return ""
    if len(value) <= 8:
        return value
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_mobile(value: str | None) -> str:
    if not value or len(value) < 7:
        return value or ""
    return value[:3] + "****" + value[-4:]
