"""The import centre (导入任务): one row per uploaded file, one row per data row applied or refused."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import TimestampMixin
from app.extensions import db


class ImportJob(TimestampMixin, db.Model):
    """An uploaded file of one kind; it runs as the background job ``job_id`` (progress, retries)."""

    __tablename__ = "import_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("background_job.id"), unique=True, nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False, index=True)
    #: The organisation the rows are imported into (the unit people join, ...).
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    file_name: Mapped[str] = mapped_column(String(200), nullable=False)
    #: The uploaded file, in the jobs folder.
    upload_path: Mapped[str] = mapped_column(String(300), nullable=False)
    total: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    succeeded: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    failed: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    success_path: Mapped[str | None] = mapped_column(String(300))
    failure_path: Mapped[str | None] = mapped_column(String(300))


class ImportRow(db.Model):
    """One data row of an import, written in the same transaction as its effect: a retried job skips the
    rows it finds here, so no row is ever applied twice."""

    __tablename__ = "import_row"
    __table_args__ = (UniqueConstraint("import_id", "row_no", name="uq_import_row_import_id_row_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("import_job.id"), nullable=False)
    #: The row's number in the sheet (the header is row 1).
    row_no: Mapped[int] = mapped_column(Integer, nullable=False)
    ok: Mapped[bool] = mapped_column(Boolean, nullable=False)
    reason: Mapped[str | None] = mapped_column(Text)
