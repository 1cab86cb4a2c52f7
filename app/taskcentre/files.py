"""The files of background jobs, kept in the database (table ``job_file_chunk``) in pieces.

An uploaded spreadsheet is read by whichever worker takes the job, and a result (an export, an import's
records, a zip of certificates) is downloaded from whichever web process answers: on several machines nothing
but the database is shared (issue #19), so the files live there too, and they are in its backups. A file is
written in the transaction that finishes its job, so a job is never finished without its file, and a file
never stays behind a job that was not. Pieces of :data:`CHUNK` bytes keep memory flat on both sides: a worker
stores a large zip piece by piece, and a download streams it piece by piece.

Jobs still write their files on the local disk first (openpyxl and zipfile write files): in the scratch
folder :func:`scratch_dir`, which no other process needs.
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from flask import Response, current_app, request, send_file, stream_with_context
from sqlalchemy import delete, func, select

from app.core.errors import NotFound
from app.core.models import utcnow
from app.extensions import db

from .models import JobFileChunk

#: The size of one piece.
CHUNK = 1 << 20


def scratch_dir() -> Path:
    """Where this machine's jobs write files before they are stored (``JOBS_DIR``, else instance/jobs/)."""
    path = Path(current_app.config.get("JOBS_DIR") or Path(current_app.instance_path) / "jobs")
    path.mkdir(parents=True, exist_ok=True)
    return path


def sweep_scratch(before: float) -> int:
    """Delete this machine's scratch files last written before ``before`` (a POSIX timestamp): what a job that
    died left behind. A job at work keeps touching its file, so a cutoff of hours never takes one in use."""
    deleted = 0
    for path in scratch_dir().iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < before:
                path.unlink(missing_ok=True)
                deleted += 1
        except FileNotFoundError:  # gone meanwhile (its job finished, another worker swept it)
            continue
    return deleted


def new_name(prefix: str, suffix: str) -> str:
    """A fresh, unguessable file name."""
    return f"{prefix}-{secrets.token_hex(8)}{suffix}"


def store(name: str, source: Path | IO[bytes]) -> int:
    """Store the file ``source`` as ``name`` in the current transaction (replacing one of that name); returns
    its size in bytes."""
    delete_files([name])
    opened = source.open("rb") if isinstance(source, Path) else source
    now, size, seq = utcnow(), 0, 0
    try:
        piece = opened.read(CHUNK)  # read once before the loop: an empty file is one empty piece
        while True:
            db.session.execute(JobFileChunk.__table__.insert(),
                               {"name": name, "seq": seq, "data": piece, "created_at": now})
            size, seq = size + len(piece), seq + 1
            if not (piece := opened.read(CHUNK)):
                break
    finally:
        if opened is not source:
            opened.close()
    return size


def exists(name: str | None) -> bool:
    return bool(name) and db.session.scalar(
        select(JobFileChunk.seq).where(JobFileChunk.name == name, JobFileChunk.seq == 0)) is not None


def _pieces(name: str) -> Iterator[bytes]:
    """The pieces of ``name`` in order, each read with its own statement (never the whole file at once) on a
    connection taken from the pool for that piece only: a slow download holds no transaction open."""
    seq = 0
    while True:
        with db.engine.connect() as conn:
            piece = conn.scalar(select(JobFileChunk.data).where(JobFileChunk.name == name, JobFileChunk.seq == seq))
        if piece is None:
            return
        yield bytes(piece)
        seq += 1


def copy_to(name: str, target: Path) -> None:
    """Write the stored file ``name`` to ``target`` on this machine (FileNotFoundError when there is none)."""
    if not exists(name):
        raise FileNotFoundError(name)
    with target.open("wb") as out:
        for piece in _pieces(name):
            out.write(piece)


def delete_files(names: list[str]) -> None:
    if names:
        db.session.execute(delete(JobFileChunk).where(JobFileChunk.name.in_(names)))


def older_unreferenced(before, referenced: set[str]) -> list[str]:  # noqa: ANN001 - a naive UTC datetime
    """The names of the stored files written before ``before`` that are not in ``referenced``."""
    names = db.session.scalars(select(JobFileChunk.name).where(JobFileChunk.seq == 0,
                                                               JobFileChunk.created_at < before))
    return [n for n in names if n not in referenced]


class _Reader(io.RawIOBase):
    """The stored file as a file object for :func:`flask.send_file`, read piece by piece as it is sent."""

    def __init__(self, name: str) -> None:
        self._pieces = _pieces(name)
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # noqa: ANN001 - a writable buffer
        while not self._buffer:
            piece = next(self._pieces, None)
            if piece is None:
                return 0
            self._buffer = piece
        n = min(len(b), len(self._buffer))
        b[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n


def download(name: str, download_name: str) -> Response:
    """The stored file ``name`` as an attachment, streamed piece by piece; a ``Range`` request (a download
    resumed) answers 206 with the part asked for. NotFound when there is no such file (deleted meanwhile)."""
    size = db.session.scalar(select(func.sum(func.length(JobFileChunk.data))).where(JobFileChunk.name == name))
    if size is None:
        raise NotFound("结果文件已不存在，请重新生成")
    resp = send_file(io.BufferedReader(_Reader(name), CHUNK), as_attachment=True, download_name=download_name,
                     conditional=False)
    resp.response = stream_with_context(resp.response)
    resp.direct_passthrough = False
    resp.content_length = int(size)
    return resp.make_conditional(request.environ, accept_ranges=True, complete_length=int(size))
