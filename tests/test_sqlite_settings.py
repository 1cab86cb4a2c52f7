"""A file-backed SQLite database runs in WAL mode with synchronous=NORMAL; in-memory ones are untouched."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from app import create_app
from app.extensions import db
from config import TestConfig


def _pragmas(url: str) -> tuple[str, int]:
    class FileConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = url

    app = create_app(FileConfig)
    with app.app_context():
        try:
            with db.engine.connect() as conn:
                return (conn.execute(text("PRAGMA journal_mode")).scalar_one(),
                        conn.execute(text("PRAGMA synchronous")).scalar_one())
        finally:
            db.engine.dispose()


def test_file_database_uses_wal_and_normal_sync(tmp_path: Path) -> None:
    assert _pragmas(f"sqlite:///{tmp_path / 'app.sqlite3'}") == ("wal", 1)  # 1 = NORMAL


def test_memory_database_keeps_defaults() -> None:
    assert _pragmas("sqlite://") == ("memory", 2)  # 2 = FULL, the default
