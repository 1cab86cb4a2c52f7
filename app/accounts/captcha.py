"""Image captcha for the login and password pages.

The session is a signed cookie the browser can read, so it never holds the answer: it holds when
the captcha was issued, a random nonce and an HMAC (keyed with the app's secret) over both and the
answer. A bot reading its own cookie learns nothing, cannot guess offline, and an answer expires
after ``CAPTCHA_SECONDS``. Every page view issues a new captcha (the image issues the one it shows).
Checking consumes it, right or wrong: its nonce goes into ``captcha_use`` in the caller's
transaction, so a replayed cookie gets no second attempt (callers commit after a failed check too).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from datetime import datetime

from flask import current_app, session
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from app.accounts.models import CaptchaUse
from app.core.models import utcnow
from app.extensions import db

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXY3456789"  # no 0/O, 1/I, 2/Z look-alikes
KEY = "captcha"

#: Under TESTING only: nonce -> answer, so tests can type what the image shows (see :func:`answer_for`).
ISSUED: OrderedDict[str, str] = OrderedDict()


def _mac(issued: str, nonce: str, answer: str) -> str:
    key = current_app.secret_key
    key = key.encode() if isinstance(key, str) else key
    return hmac.new(key, f"captcha|{issued}|{nonce}|{answer.upper()}".encode(), hashlib.sha256).hexdigest()


def new_answer(answer: str | None = None) -> str:
    answer = answer or "".join(secrets.choice(_ALPHABET) for _ in range(4))
    issued, nonce = str(int(time.time())), secrets.token_urlsafe(9)
    session[KEY] = f"{issued}.{nonce}.{_mac(issued, nonce, answer)}"
    if current_app.testing:
        ISSUED[nonce] = answer
        while len(ISSUED) > 200:
            ISSUED.popitem(last=False)
    return answer


#: The question of the text captcha, the alternative to the image for those who cannot read it (a screen
#: reader reads it out); its answer is kept like the image's.
QUESTION = "%(a)s 加 %(b)s 等于几？"


def new_question() -> dict[str, int]:
    """Issue a text captcha: {"a", "b"} to fill into :data:`QUESTION`; the answer is their sum."""
    a, b = secrets.randbelow(9) + 1, secrets.randbelow(9) + 1
    new_answer(str(a + b))
    return {"a": a, "b": b}


def image_png(answer: str) -> bytes:
    from captcha.image import ImageCaptcha

    return ImageCaptcha(width=160, height=60, font_sizes=(42, 46, 50)).generate(answer).getvalue()


def enabled() -> bool:
    return bool(current_app.config.get("CAPTCHA_ENABLED", True))


def check(value: str | None) -> bool:
    """True when ``value`` is the answer of the captcha last shown and not expired; one attempt each."""
    if not enabled():
        return True
    issued, nonce, mac = _parts(session.pop(KEY, None))
    if not (issued.isdigit() and nonce and mac):
        return False
    if time.time() - int(issued) > current_app.config.get("CAPTCHA_SECONDS", 600):
        return False
    try:
        with db.session.begin_nested():
            db.session.add(CaptchaUse(nonce=nonce[:16], used_at=utcnow()))
    except IntegrityError:
        return False  # answered before: a replayed cookie
    return hmac.compare_digest(mac, _mac(issued, nonce, (value or "").strip()))


def purge_used(before: datetime) -> int:
    """Drop the records of captchas answered before ``before`` (expired ones cannot be replayed anyway)."""
    return db.session.execute(delete(CaptchaUse).where(CaptchaUse.used_at < before)).rowcount or 0


def _parts(session_value: str | None) -> tuple[str, str, str]:
    """(issued, nonce, mac) of what :func:`new_answer` put in the session; empty strings when absent."""
    issued, _, rest = (session_value or "").partition(".")
    nonce, _, mac = rest.partition(".")
    return issued, nonce, mac


def answer_for(session_value: str | None) -> str:
    """Tests: the answer of the captcha a session holds (only captchas issued under TESTING)."""
    return ISSUED.get(_parts(session_value)[1], "")
