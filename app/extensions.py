"""Unbound extension singletons, bound to the app in :func:`app.create_app`."""

from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from app.core.models import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001
    """File SQLite (the embedded default) runs in WAL mode: readers don't block the writer, and
    synchronous=NORMAL syncs at checkpoints instead of on every commit (durable against a process
    crash; a power cut may lose the last commits, never corrupt the file). Waits for a busy writer
    instead of failing at once."""
    cur = dbapi_conn.cursor()
    if cur.execute("PRAGMA journal_mode").fetchone()[0] != "memory":
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()


def configure_engine(engine) -> None:  # noqa: ANN001
    if engine.dialect.name == "sqlite":
        from sqlalchemy import event

        event.listen(engine, "connect", _sqlite_pragmas)
