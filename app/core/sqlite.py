"""SQLite connection settings for file databases (the embedded deployment).

With SQLite's defaults (rollback journal, ``synchronous=FULL``) every commit is several fsyncs: on
this project's test machine up to 10 ms per commit, which dominated a whole approval chain. A
file database therefore runs in WAL mode with ``synchronous=NORMAL``, the usual setting for a web
application on SQLite: readers no longer block the writer, and a commit is durable once the WAL is
checkpointed (a power cut can lose the last commits, never corrupt the database). In-memory
databases (the tests) are left alone.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine

_INSTALLED = False


def _on_connect(dbapi_conn, _record) -> None:  # noqa: ANN001 - DB-API connection
    if not isinstance(dbapi_conn, sqlite3.Connection):
        return
    cur = dbapi_conn.cursor()
    try:
        files = [row[2] for row in cur.execute("PRAGMA database_list") if row[1] == "main"]
        if files and files[0]:  # "" for an in-memory or temporary database
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
    finally:
        cur.close()


def install() -> None:
    """Apply the settings to every SQLite connection any engine opens (once per process)."""
    global _INSTALLED
    if not _INSTALLED:
        event.listen(Engine, "connect", _on_connect)
        _INSTALLED = True
