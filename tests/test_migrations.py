"""The migrations build exactly the schema the models describe."""

import os

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


def test_upgrading_moves_the_files_of_existing_jobs_into_the_database(tmp_path):
    """An installation upgraded with an import queued and an export finished keeps both: the migration stores
    the files its jobs folder holds for them (files no job refers to stay out)."""
    from flask_migrate import upgrade
    from sqlalchemy import select

    from app import create_app
    from app.accounts.models import User
    from app.demo import seed
    from app.imports.models import ImportJob
    from app.taskcentre.models import BackgroundJob
    from config import TestConfig

    class Cfg(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'old.sqlite3'}"
        JOBS_DIR = str(tmp_path / "jobs")

    (tmp_path / "jobs").mkdir()
    big = os.urandom((1 << 20) + 100)
    (tmp_path / "jobs" / "upload-aa.xlsx").write_bytes(big)
    (tmp_path / "jobs" / "5-bb.xlsx").write_bytes(b"PK export")
    (tmp_path / "jobs" / "stray.zip").write_bytes(b"PK")
    old = create_app(Cfg)
    with old.app_context():
        directory = old.root_path + "/migrations"
        upgrade(directory=directory, revision="forms_0001")
        seed()  # an installation in use, then a finished export and a queued import
        owner = db.session.scalar(select(User.id).where(User.login == "hospital_admin"))
        export = BackgroundJob(owner_id=owner, kind="export", title="导出", status="finished", params={},
                               result_path="5-bb.xlsx")
        queued = BackgroundJob(owner_id=owner, kind="import", title="导入", status="queued", params={})
        db.session.add_all([export, queued])
        db.session.flush()
        db.session.add(ImportJob(job_id=queued.id, kind="personnel", owner_id=owner, file_name="a.xlsx",
                                 upload_path="upload-aa.xlsx"))
        db.session.commit()
        db.session.remove()
        upgrade(directory=directory)
        from app.taskcentre import files

        assert files.exists("upload-aa.xlsx") and files.exists("5-bb.xlsx") and not files.exists("stray.zip")
        files.copy_to("upload-aa.xlsx", tmp_path / "copy.xlsx")
        assert (tmp_path / "copy.xlsx").read_bytes() == big
        db.session.remove()
        db.engine.dispose()
