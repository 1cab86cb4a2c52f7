"""Uploaded files (附件材料): images and PDF, checked by content, at most UPLOAD_MAX_BYTES (design §4).

A file is saved on its own first (``instance_id`` empty, only its uploader may read it) and
linked to an instance once the declaration that lists it has been accepted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime

from flask import current_app
from flask_babel import gettext
from sqlalchemy import delete, select
from sqlalchemy.orm import defer
from werkzeug.datastructures import FileStorage, MultiDict

from app.accounts.actor import Actor
from app.core.errors import ValidationFailed
from app.core.validators import whole_number
from app.extensions import db
from app.workflow.models import Attachment, ProcessInstance

FIELD = "attachments"
ALLOWED_EXTENSIONS = ("jpg", "jpeg", "png", "gif", "bmp", "pdf")
RULE = "只能上传 jpg、jpeg、png、gif、bmp 图片或 PDF 文件"

#: BMP info-header sizes (BITMAPCOREHEADER … BITMAPV5HEADER).
_BMP_HEADER_SIZES = {12, 40, 52, 56, 64, 108, 124}


def sniff(head: bytes) -> str | None:
    """The MIME type the bytes really are, or None when they are not an allowed kind."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:2] == b"BM" and len(head) >= 26 and int.from_bytes(head[14:18], "little") in _BMP_HEADER_SIZES:
        return "image/bmp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def _is_whole_pdf(data: bytes) -> bool:
    """A PDF ends with its trailer's ``%%EOF`` (within the last KB: some writers add a line or two)."""
    return b"%%EOF" in data[-1024:]


def _fail(message: str) -> ValidationFailed:
    return ValidationFailed(message, {FIELD: message})


def _display_name(file: FileStorage) -> str:
    name = (file.filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name[-255:] or "附件"


def save_upload(file: FileStorage, *, actor: Actor) -> Attachment:
    """Check one uploaded file and store it (flushed, not committed). Raises ValidationFailed
    with a message on ``attachments`` that names the file and the rule it broke."""
    name = _display_name(file)
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext not in ALLOWED_EXTENSIONS:
        raise _fail(gettext("文件“%(name)s”的类型不允许：%(rule)s", name=name, rule=gettext(RULE)))
    limit = int(current_app.config["UPLOAD_MAX_BYTES"])
    data = file.stream.read(limit + 1)
    if len(data) > limit:
        mb = f"{limit / (1024 * 1024):g}MB"
        raise _fail(gettext("文件“%(name)s”超过%(mb)s，不能上传（每个文件不超过%(mb)s）", name=name, mb=mb))
    if not data:
        raise _fail(gettext("文件“%(name)s”是空文件，请重新选择", name=name))
    content_type = sniff(data[:1024])
    if content_type == "application/pdf" and not _is_whole_pdf(data):
        content_type = None
    if content_type is not None and (ext == "pdf") != (content_type == "application/pdf"):
        raise _fail(gettext("文件“%(name)s”的扩展名与内容不符（内容是%(kind)s），请改正扩展名后重新上传", name=name,
                            kind=gettext("PDF 文件") if content_type == "application/pdf" else gettext("图片")))
    if content_type is None:
        raise _fail(gettext("文件“%(name)s”的内容不是有效的图片或 PDF（按文件内容检查，不只看扩展名）：%(rule)s",
                            name=name, rule=gettext(RULE)))
    attachment = Attachment(
        uploaded_by_id=actor.id, filename=name, content_type=content_type, size=len(data),
        sha256=hashlib.sha256(data).hexdigest(), data=data,
    )
    db.session.add(attachment)
    db.session.flush()
    return attachment


def save_uploads(files: Iterable[FileStorage], *, actor: Actor) -> tuple[list[Attachment], list[str]]:
    """Save every chosen file that passes; return the saved ones and the messages of the rest."""
    saved: list[Attachment] = []
    errors: list[str] = []
    for file in files:
        if file is None or not file.filename:
            continue  # an empty <input type=file>
        try:
            saved.append(save_upload(file, actor=actor))
        except ValidationFailed as exc:
            errors.append(exc.fields[FIELD])
    return saved, errors


def take_uploads(fields: Iterable[str], raw: dict, files: MultiDict, *, actor: Actor,
                 instance: ProcessInstance | None = None) -> tuple[list[int], dict[str, str]]:
    """For each file field of a posted form: keep the listed ids the actor may use, save the newly
    chosen files, and put both into ``raw[field]``. Returns the new ids and per-field errors.
    Flushes only; the caller commits."""
    new_ids: list[int] = []
    errors: dict[str, str] = {}
    for name in fields:
        kept = usable_ids(raw.get(name) or [], actor=actor, instance=instance)
        saved, errs = save_uploads(files.getlist(name), actor=actor)
        new_ids += [a.id for a in saved]
        raw[name] = kept + [a.id for a in saved]
        if errs:
            errors[name] = "；".join(errs)
    return new_ids, errors


def usable_ids(ids: Iterable[object], *, actor: Actor, instance: ProcessInstance | None = None) -> list[int]:
    """The posted attachment ids the actor may attach: their own unlinked uploads, or files
    already belonging to ``instance``. Anything else (someone else's file) is dropped."""
    wanted = [n for i in ids if (n := whole_number(str(i))) is not None]
    if not wanted:
        return []
    rows = db.session.execute(select(Attachment.id, Attachment.instance_id, Attachment.uploaded_by_id)
                              .where(Attachment.id.in_(wanted))).all()
    ok = {r.id for r in rows
          if (r.instance_id is None and r.uploaded_by_id == actor.id)
          or (instance is not None and r.instance_id == instance.id)}
    return [i for i in dict.fromkeys(wanted) if i in ok]


def link(ids: Iterable[int], instance: ProcessInstance, *, actor: Actor) -> None:
    """Attach the actor's unlinked uploads to the instance (same transaction as the action)."""
    wanted = [int(i) for i in ids]
    if not wanted:
        return
    for att in db.session.scalars(select(Attachment).where(
            Attachment.id.in_(wanted), Attachment.instance_id.is_(None), Attachment.uploaded_by_id == actor.id)):
        att.instance_id = instance.id
    db.session.flush()


def attachments_for(ids: Iterable[object] | None, instance: ProcessInstance) -> list[Attachment]:
    """The attachments listed in the instance's data, in that order (ids of other instances ignored)."""
    wanted = [n for i in (ids or []) if (n := whole_number(str(i))) is not None]
    if not wanted:
        return []
    rows = {a.id: a for a in db.session.scalars(
        select(Attachment).options(defer(Attachment.data))
        .where(Attachment.id.in_(wanted), Attachment.instance_id == instance.id))}
    return [rows[i] for i in dict.fromkeys(wanted) if i in rows]


def info_for(ids: Iterable[object], *, actor: Actor, instance: ProcessInstance | None = None
             ) -> list[Attachment]:
    """Attachments to list again on a form being re-filled (only ones the actor may use)."""
    usable = usable_ids(ids, actor=actor, instance=instance)
    if not usable:
        return []
    rows = {a.id: a for a in db.session.scalars(
        select(Attachment).options(defer(Attachment.data)).where(Attachment.id.in_(usable)))}
    return [rows[i] for i in usable if i in rows]


def purge_unlinked(before: datetime) -> int:
    """Delete uploads that were never attached to an application (the form was abandoned) and are older
    than ``before``. Returns how many."""
    result = db.session.execute(delete(Attachment).where(Attachment.instance_id.is_(None),
                                                         Attachment.created_at < before))
    return result.rowcount or 0
