"""Image captcha for the login and password pages; the answer lives in the session only."""

from __future__ import annotations

import secrets

from flask import current_app, session

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXY3456789"  # no 0/O, 1/I, 2/Z look-alikes
KEY = "captcha"


def new_answer() -> str:
    answer = "".join(secrets.choice(_ALPHABET) for _ in range(4))
    session[KEY] = answer
    return answer


def image_png(answer: str) -> bytes:
    from captcha.image import ImageCaptcha

    return ImageCaptcha(width=120, height=44, font_sizes=(30, 34, 38)).generate(answer).getvalue()


def enabled() -> bool:
    return bool(current_app.config.get("CAPTCHA_ENABLED", True))


def check(value: str | None) -> bool:
    """True when ``value`` matches the answer shown; every answer is good for one attempt."""
    if not enabled():
        return True
    answer = session.pop(KEY, None)
    return bool(answer) and (value or "").strip().upper() == answer
