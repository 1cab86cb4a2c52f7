"""Reading an API request: the JSON body, and arguments checked by a marshmallow schema with field errors in
the request's language (marshmallow's own messages are English sentences)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import request
from flask_babel import gettext
from marshmallow import Schema, ValidationError

from app.api.schemas import PageArgs
from app.core.errors import DomainError, ValidationFailed
from app.core.web import request_json


def json_body() -> dict[str, Any]:
    """The JSON object the request sent. Every text and number in it has passed
    :func:`app.core.web.refuse_unsafe_input` (no control characters, finite numbers, nested ≤ 64 deep)."""
    if not request.is_json:
        raise DomainError("请求体必须是 JSON 对象")
    data = request_json()
    if not isinstance(data, dict):
        raise DomainError("请求体必须是 JSON 对象")
    return data


def query_args(schema: Schema) -> dict[str, Any]:
    """The query string checked by ``schema``; ``lang`` (the answer's language, on every call) is not its."""
    return load_args(schema, {k: v for k, v in request.args.items() if k != "lang"})


def page_args(per_page: int = 20) -> tuple[int, int]:
    """``page`` and ``per_page`` of a list call (:class:`app.api.schemas.PageArgs`; ``per_page`` defaults to
    ``per_page``); a 422 with field messages when either is not a whole number in range."""
    values = {"page": request.args.get("page", "1"), "per_page": request.args.get("per_page", str(per_page))}
    args = load_args(PageArgs(), values)
    return args["page"], args["per_page"]


def load_args(schema: Schema, data: dict[str, Any], partial: bool = False) -> dict[str, Any]:
    """``schema.load(data)``; a 422 with one message per field when it fails."""
    try:
        return schema.load(data, partial=partial)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        raise ValidationFailed("请求参数有误", {name: field_message(m) for name, m in messages.items()}) from None


#: marshmallow's messages (fields and the Range / Length / OneOf validators) → the same rule in our words.
_MESSAGES: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (re.compile(r"Missing data for required field\."), lambda m: gettext("此项为必填项")),
    (re.compile(r"Field may not be null\."), lambda m: gettext("此项不能为空")),
    (re.compile(r"Unknown field\."), lambda m: gettext("不支持的字段")),
    (re.compile(r"Not a valid integer\."), lambda m: gettext("必须是整数")),
    (re.compile(r"Not a valid number\."), lambda m: gettext("必须是数字")),
    (re.compile(r"Not a valid string\."), lambda m: gettext("必须是文本")),
    (re.compile(r"Not a valid boolean\."), lambda m: gettext("必须是 true 或 false")),
    (re.compile(r"Not a valid list\."), lambda m: gettext("必须是列表")),
    (re.compile(r"Not a valid (date|datetime)\."), lambda m: gettext("日期格式不正确，应为 YYYY-MM-DD")),
    (re.compile(r"Invalid (input type|value)\."), lambda m: gettext("值无效")),
    (re.compile(r"Must be greater than or equal to (\S+) and less than or equal to (\S+?)\."),
     lambda m: gettext("必须在%(min)s到%(max)s之间", min=m[1], max=m[2])),
    (re.compile(r"Must be greater than or equal to (\S+?)\."), lambda m: gettext("不能小于%(min)s", min=m[1])),
    (re.compile(r"Must be less than or equal to (\S+?)\."), lambda m: gettext("不能大于%(max)s", max=m[1])),
    (re.compile(r"Shorter than minimum length (\d+)\."), lambda m: gettext("长度不能少于%(n)s", n=m[1])),
    (re.compile(r"Longer than maximum length (\d+)\."), lambda m: gettext("长度不能超过%(n)s", n=m[1])),
    (re.compile(r"Length must be between (\d+) and (\d+)\."),
     lambda m: gettext("长度须在%(min)s到%(max)s之间", min=m[1], max=m[2])),
    (re.compile(r"Must be one of: (.*)\."), lambda m: gettext("必须是以下之一：%(choices)s", choices=m[1])),
]


def field_message(message: Any) -> str:
    """One readable message for a field: a list of messages joined, a list field's items numbered."""
    if isinstance(message, dict):  # errors of a list's items, keyed by position
        return "；".join(gettext("第%(n)s项：%(message)s", n=int(k) + 1 if str(k).isdigit() else k,
                                 message=field_message(v)) for k, v in message.items())
    if isinstance(message, list | tuple):
        return "；".join(field_message(m) for m in message)
    text = str(message)
    for pattern, say in _MESSAGES:
        match = pattern.fullmatch(text)
        if match is not None:
            return say(match)
    return text
