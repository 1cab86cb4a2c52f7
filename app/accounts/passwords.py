"""Passwords: the rules (design §4: 8-16 characters mixing letters and digits), temporary passwords an
administrator gives, and what follows when a user chooses their own. Registration, organisation
administration and sign-in all use this one module."""

from __future__ import annotations

import re
import secrets

from app.accounts.models import PasswordChangeRequired, User
from app.accounts.services import revoke_tokens
from app.extensions import db

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


def generate_password() -> str:
    """Ten characters from an alphabet without look-alikes, always mixing letters and digits."""
    letters, digits = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ", "23456789"
    chars = [secrets.choice(letters) for _ in range(6)] + [secrets.choice(digits) for _ in range(4)]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


def must_change_password(user_id: int) -> bool:
    """Did an administrator reset this user's password (the temporary one must be replaced first)?"""
    return db.session.get(PasswordChangeRequired, user_id) is not None


def password_changed(user: User) -> None:
    """The user chose a password of their own (changed it, or reset it with a verification code):
    the temporary one an administrator gave no longer needs replacing, and the API tokens issued with
    the old one stop working (web sessions end by themselves: their stamp holds the password hash)."""
    mark = db.session.get(PasswordChangeRequired, user.id)
    if mark is not None:
        db.session.delete(mark)
    revoke_tokens(user)
