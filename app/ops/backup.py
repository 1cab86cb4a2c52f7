"""Backup and restore of the whole database (it is the only state: job files are rows too).

PostgreSQL: ``pg_dump --format=custom`` and ``pg_restore --clean --if-exists --single-transaction`` (the client
tools must be of the server's major version or newer). SQLite: a consistent copy with SQLite's online backup API,
and the same API copying it back. The workflow states are rows like any other, so cases in flight continue
after a restore from where the backup saw them."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from app.core.errors import DomainError
from app.extensions import db


class BackupFailed(DomainError):
    status = 500


def _libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _sqlite_file(url: str) -> str:
    name = make_url(url).database
    if not name or name == ":memory:":
        raise BackupFailed("an in-memory SQLite database has nothing to back up")
    return name


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupFailed(f"{name} not found: install the PostgreSQL client tools")
    return found


def _run(args: list[str]) -> None:
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupFailed(f"{Path(args[0]).name} failed: {done.stderr.strip()[-2000:]}")


def backup(path: Path) -> None:
    """Write the database's contents to ``path`` (a file)."""
    url = db.engine.url.render_as_string(hide_password=False)
    if db.engine.dialect.name == "postgresql":
        _run([_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", "--file", str(path),
              "--dbname", _libpq_url(url)])
        return
    src = sqlite3.connect(_sqlite_file(url))
    dst = sqlite3.connect(str(path))
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def restore(path: Path) -> None:
    """Replace the database's contents with the backup at ``path`` (everything not in it is gone)."""
    if not path.is_file():
        raise BackupFailed(f"no backup file at {path}")
    url = db.engine.url.render_as_string(hide_password=False)
    db.session.remove()
    db.engine.dispose()  # no pooled connection holds a lock on what is dropped
    if db.engine.dialect.name == "postgresql":
        _run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
              "--exit-on-error", "--dbname", _libpq_url(url), str(path)])
    else:
        src = sqlite3.connect(str(path))
        dst = sqlite3.connect(_sqlite_file(url))
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
