"""job_file_chunk: the files of background jobs (uploads, results) kept in the database, in pieces; the files
the jobs folder holds for existing jobs are moved in

Revision ID: files_0001
Revises: forms_0001
Create Date: 2026-12-04 15:00:00

"""
from datetime import datetime, timezone
from pathlib import Path

from alembic import op
import sqlalchemy as sa

CHUNK = 1 << 20


revision = "files_0001"
down_revision = "forms_0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "job_file_chunk",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", "seq", name=op.f("pk_job_file_chunk")),
    )
    _move_existing_files()


def _move_existing_files():
    """The uploads of imports not yet run and the results already made, from the jobs folder of the machine
    that upgrades (where they were before), so nothing in flight is lost."""
    try:
        from flask import current_app

        folder = Path(current_app.config.get("JOBS_DIR") or Path(current_app.instance_path) / "jobs")
    except RuntimeError:  # outside the application (alembic alone): nothing to move from
        return
    if not folder.is_dir():
        return
    bind = op.get_bind()
    names = set(bind.execute(sa.text("SELECT result_path FROM background_job WHERE result_path IS NOT NULL")).scalars())
    for column in ("upload_path", "success_path", "failure_path"):
        names |= set(bind.execute(sa.text(f"SELECT {column} FROM import_job WHERE {column} IS NOT NULL")).scalars())
    insert = sa.text("INSERT INTO job_file_chunk (name, seq, data, created_at) VALUES (:name, :seq, :data, :at)")
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    for name in sorted(names):
        path = folder / Path(name).name
        if not path.is_file():
            continue
        with path.open("rb") as source:
            seq = 0
            while (piece := source.read(CHUNK)) or not seq:
                bind.execute(insert, {"name": name, "seq": seq, "data": piece, "at": now})
                seq += 1
                if not piece:
                    break


def downgrade():
    op.drop_table("job_file_chunk")
