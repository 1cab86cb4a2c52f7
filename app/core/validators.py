"""National code checks: ID numbers (GB 11643), USCC (GB 32100), mobile numbers; and the checks every
value coming in from outside passes (text without control characters, finite numbers, bounded nesting).

Each check returns ``None`` when the value is valid, otherwise a Chinese message naming the
rule that failed, so forms and the API can show it next to the field.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import date
from itertools import accumulate
from typing import Any

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


# --------------------------------------------------------------------------- what comes in from outside

#: C0 control characters other than tab, line feed and carriage return (browsers send a textarea's line
#: breaks as CR LF), and lone UTF-16 surrogates: no database column keeps a NUL, and no UTF-8 text can hold
#: a lone surrogate, so either would fail later, when the value is written.
_UNSAFE_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
#: Whole numbers the databases keep (64-bit): a larger one cannot be an id, a count or a year.
MAX_INTEGER = 2**63 - 1
#: Deepest nesting of a JSON body (no form or API argument nests more than a few levels).
MAX_JSON_DEPTH = 64
#: Highest page number of any list (a million pages of 200 rows is far beyond the largest list).
MAX_PAGE = 1_000_000


def whole_number(text: str | None, maximum: int = MAX_INTEGER) -> int | None:
    """Text from a query string or a form as a whole number ≥ 0 and ≤ ``maximum``, or None when it is not
    one: signs, spaces inside, other scripts' digits ("²", "１２", which ``int`` chokes on or reads), or too
    large to name any row."""
    text = (text or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    number = int(text)
    return number if number <= maximum else None


def whole_numbers(texts: Iterable[str]) -> list[int]:
    """The values of a form's list of ids (``request.form.getlist``) that are :func:`whole_number`: the rest
    are skipped (they name no row)."""
    return [n for n in (whole_number(t) for t in texts) if n is not None]


def page_number(text: str | None) -> int:
    """A web page's ``page`` argument: 1 when it is not a number, at most :data:`MAX_PAGE` (past the last
    page, like any page beyond the end, the list is empty). The API refuses such a page instead (422)."""
    text = (text or "").strip()
    if text.isascii() and text.isdigit():
        return max(1, min(int(text) if len(text) <= 19 else MAX_PAGE, MAX_PAGE))
    return 1


def text_error(value: str) -> str | None:
    """Why the text cannot be kept (a control character, a lone surrogate), or None."""
    found = _UNSAFE_TEXT.search(value)
    if found is None:
        return None
    return "不能包含控制字符" if found.group() < "\ud800" else "含有无效的字符（不成对的 Unicode 代理项）"


def safe_text(value: str) -> str:
    """The text with what :func:`text_error` refuses replaced by U+FFFD, to quote it in a message."""
    return _UNSAFE_TEXT.sub("\ufffd", value)


def number_error(value: object) -> str | None:
    """Why the number cannot be kept (NaN, an infinity, a whole number beyond 64 bits), or None."""
    if isinstance(value, float) and not math.isfinite(value):
        return "必须是有限的数字"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INTEGER:
        return "数值超出允许的范围"
    return None


def value_error(value: Any) -> str | None:
    """The first :func:`text_error` or :func:`number_error` anywhere in a value (strings, numbers, and the
    keys and items of dicts and lists), or a nesting deeper than :data:`MAX_JSON_DEPTH`; None when there is
    none. Walked without recursion, so any depth is safe to check."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            error = text_error(item)
        elif isinstance(item, Mapping | list | tuple):
            if depth >= MAX_JSON_DEPTH:
                return "嵌套层数过多"
            members = [*item.keys(), *item.values()] if isinstance(item, Mapping) else item
            stack.extend((member, depth + 1) for member in members)
            continue
        else:
            error = number_error(item)
        if error:
            return error
    return None


def unsafe_fields(data: Mapping[str, Any]) -> dict[str, str]:
    """``{field: message}`` for each field of ``data`` whose name or value fails :func:`value_error`
    (a field named with unsafe characters is reported under its name with those replaced)."""
    errors: dict[str, str] = {}
    for name, value in data.items():
        error = value_error(name) or value_error(value)
        if error:
            errors[safe_text(name) if isinstance(name, str) else str(name)] = error
    return errors


#: A JSON string (escapes included); every byte but a bracket; a bracket's step in nesting depth.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_DEPTH_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def json_depth(raw: bytes) -> int:
    """How deeply the arrays and objects of a JSON text nest, counted without parsing it (brackets inside
    strings do not count), so a body nested thousands deep is refused before a parser recurses into it.
    Linear in the body's size, in C loops (a 20 MB body takes well under a second)."""
    brackets = _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_DEPTH_STEP.__getitem__, brackets)), default=0)
