"""The migrations build exactly the schema the models describe."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.extensions import db


def _diff(app):
    with db.engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), db.metadata)


def test_migrations_match_models_on_sqlite(app):
    assert _diff(app) == []


def test_migrations_match_models_on_postgres(pg_app):
    assert _diff(pg_app) == []
