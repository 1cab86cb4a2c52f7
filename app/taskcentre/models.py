"""The task centre (任务中心): background jobs a user started, with progress and a result file."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import TimestampMixin
from app.extensions import db

QUEUED = "queued"
RUNNING = "running"
FINISHED = "finished"
FAILED = "failed"
STATUS_LABELS = {QUEUED: "排队中", RUNNING: "进行中", FINISHED: "已完成", FAILED: "失败"}


class BackgroundJob(TimestampMixin, db.Model):
    __tablename__ = "background_job"
    __table_args__ = (
        Index("ix_background_job_owner_created", "owner_id", "created_at"),
        Index("ix_background_job_status", "status"),  # the reconciler looks for queued and running jobs
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
    #: e.g. certificate_batch
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=QUEUED)
    done: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    total: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    params: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    #: Name of the result file (stored in ``job_file_chunk``, :mod:`app.taskcentre.files`), set when finished.
    result_path: Mapped[str | None] = mapped_column(String(300))
    #: File name offered on download.
    result_name: Mapped[str | None] = mapped_column(String(200))
    #: Human-readable summary of the outcome (e.g. how many were skipped and why).
    message: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    #: How many times the job was handed to a worker (a job whose worker died is handed out again).
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    #: The rq job id of the current attempt (none when jobs run inline, without Redis).
    rq_job_id: Mapped[str | None] = mapped_column(String(64))
    #: Last sign of life: when the current attempt was queued, started or committed progress.
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)

    @property
    def percent(self) -> int:
        return int(self.done * 100 / self.total) if self.total else (100 if self.status == FINISHED else 0)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)


class JobFileChunk(db.Model):
    """A piece (at most :data:`app.taskcentre.files.CHUNK` bytes) of a job's file: an uploaded spreadsheet, an
    import's success and failure records, an export, a zip of certificates. In the database rather than on a
    machine's disk, so a worker on one machine reads what a web process on another received, and any web
    process serves what any worker made; pieces, so neither side holds a large file in memory."""

    __tablename__ = "job_file_chunk"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
