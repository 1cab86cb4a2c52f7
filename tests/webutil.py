"""Helpers for the web-page tests: sample files, HTML probes, several signed-in browsers."""

from __future__ import annotations

import html
import re
import struct
import zlib
from io import BytesIO

from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.workflow import services
from app.workflow.models import ProcessInstance, WorkflowTask
from tests.conftest import DECLARATION, WebClient, actor


def browser(app: Flask, login: str | None = None) -> WebClient:
    """A separate browser (own cookies), signed in as ``login`` when given."""
    web = WebClient(app.test_client())
    if login:
        r = web.login(login)
        assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    return web


def text(resp) -> str:
    """The page's visible text with tags removed and whitespace collapsed."""
    body = resp.get_data(as_text=True)
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))


def field_error(resp, name: str) -> str | None:
    """The message shown under a form field (``invalid-feedback`` with id f-<name>-error)."""
    m = re.search(rf'id="f-{re.escape(name)}-error"[^>]*>(.*?)</div>', resp.get_data(as_text=True), re.S)
    return html.unescape(m.group(1)).strip() if m else None


def png_bytes() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def upload(data: bytes, name: str) -> tuple[BytesIO, str]:
    return BytesIO(data), name


def form_data(**overrides) -> dict:
    """The declaration as a browser posts it: every value a string."""
    data = {k: str(v) for k, v in DECLARATION.items()}
    data.update({k: v for k, v in overrides.items()})
    return data


def count(model=ProcessInstance) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def declare(login: str = "chenshihui", **overrides) -> ProcessInstance:
    """Start a declaration through the service layer (setup for review tests)."""
    data = {**DECLARATION, **overrides}
    inst = services.start_process("credit_hour_approval", data, actor=actor(login))
    db.session.commit()
    return inst


def open_task(inst: ProcessInstance) -> WorkflowTask:
    db.session.expire_all()
    tasks = services.open_tasks(inst)
    assert len(tasks) == 1, tasks
    return tasks[0]


def act(inst: ProcessInstance, login: str, data: dict) -> None:
    services.complete_task(open_task(inst).id, data, actor=actor(login))
    db.session.commit()
