"""Pluggable delivery of verification codes (SMS or e-mail).

``VERIFICATION_SENDER`` names the sender: ``log`` (default: the code goes to the application
log; in development it is also shown on the page), ``memory`` (kept in :data:`OUTBOX`, for
tests), or ``package.module:Class`` for a real SMS/e-mail gateway. A sender is any object
with ``send(channel, target, code, purpose)``.
"""

from __future__ import annotations

import importlib
from collections import deque
from dataclasses import dataclass
from typing import Protocol

from flask import current_app


class CodeSender(Protocol):
    def send(self, channel: str, target: str, code: str, purpose: str) -> None: ...


@dataclass
class SentCode:
    channel: str
    target: str
    code: str
    purpose: str


class LogSender:
    """Writes the code to the application log (the development default)."""

    def send(self, channel: str, target: str, code: str, purpose: str) -> None:
        current_app.logger.warning("verification code %s for %s via %s (%s)", code, target, channel, purpose)


#: What the memory sender delivered, newest last (bounded).
OUTBOX: deque[SentCode] = deque(maxlen=100)


class MemorySender:
    def send(self, channel: str, target: str, code: str, purpose: str) -> None:
        OUTBOX.append(SentCode(channel, target, code, purpose))


_BUILTIN: dict[str, type] = {"log": LogSender, "memory": MemorySender}


def get_sender() -> CodeSender:
    name = current_app.config.get("VERIFICATION_SENDER") or "log"
    if name in _BUILTIN:
        return _BUILTIN[name]()
    module, _, attr = name.partition(":")
    return getattr(importlib.import_module(module), attr)()


def last_code(target: str) -> str | None:
    """The newest code the memory sender delivered to ``target``."""
    for sent in reversed(OUTBOX):
        if sent.target == target:
            return sent.code
    return None
