"""Password rules (design §4): 8-16 characters mixing letters and digits."""

from __future__ import annotations

import re

MIN_LENGTH, MAX_LENGTH = 8, 16
RULE = f"密码应为{MIN_LENGTH}-{MAX_LENGTH}位，且同时包含字母和数字"


def password_error(password: str | None) -> str | None:
    """None when the password follows the rules, else a message naming the rule it breaks."""
    value = password if isinstance(password, str) else ""  # a number or a list in a JSON body is no password
    if not MIN_LENGTH <= len(value) <= MAX_LENGTH:
        return f"密码长度应为{MIN_LENGTH}-{MAX_LENGTH}位"
    if any(c.isspace() for c in value) or not value.isascii():
        return "密码只能包含字母、数字和英文符号，不能有空格"
    if not re.search(r"[A-Za-z]", value) or not re.search(r"\d", value):
        return "密码必须同时包含字母和数字"
    return None
