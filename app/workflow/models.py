"""Persistent workflow state (design §2): versions, instances, the task inbox, the audit trail."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.models import TimestampMixin, utcnow
from app.extensions import db

RUNNING, COMPLETED, REJECTED, WITHDRAWN = "running", "completed", "rejected", "withdrawn"
INSTANCE_STATUSES = (RUNNING, COMPLETED, REJECTED, WITHDRAWN)


class ProcessVersion(TimestampMixin, db.Model):
    """One parsed, immutable version of a BPMN file together with the forms it references."""

    __tablename__ = "process_version"
    __table_args__ = (
        UniqueConstraint("process_key", "content_hash"),
        UniqueConstraint("process_key", "version"),
        # One active version per process: the one new instances start on.
        Index("uq_process_version_active", "process_key", unique=True,
              sqlite_where=text("active = 1"), postgresql_where=text("active")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    process_key: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    #: sha256 over the BPMN, the DMN files and every referenced form.
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    # the three texts are loaded when first used: they are needed once per process (then cached by
    # content hash), while the row itself is read on every start
    bpmn_xml: Mapped[str] = mapped_column(Text, nullable=False, deferred=True)
    #: {filename: text} of the DMN files the process uses.
    dmn_files: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict, deferred=True)
    #: {filename: parsed JSON} of the forms the process references.
    forms: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict, deferred=True)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class DecisionVersion(TimestampMixin, db.Model):
    """A decision table (``processes/<key>.dmn``) deployed by an administrator from the browser: the active one
    answers instead of the file. Without any row the file is the table (see :mod:`app.workflow.decisions`)."""

    __tablename__ = "decision_version"
    __table_args__ = (
        UniqueConstraint("decision_key", "version"),
        UniqueConstraint("decision_key", "content_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    decision_key: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    #: sha256 of the DMN text (the ``_rule_hash`` stored with each verification it answered).
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    dmn_xml: Mapped[str] = mapped_column(Text, nullable=False, deferred=True)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    #: None: the file shipped in processes/ (recorded as the first version when the first edit is deployed).
    deployed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    deployed_by = relationship("User")


class FormEdit(db.Model):
    """A file of ``forms/`` as an administrator last saved it in the forms editor (``text`` None: deleted). The rows
    stand over the shipped files for every process on every machine (:mod:`app.workflow.forms`), so the database
    stays the only shared state: an edit is neither lost with a machine's disk nor missing on another one."""

    __tablename__ = "form_edit"

    #: The file name in forms/ (``review.schema.json``, ``review.uischema.json``).
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    text: Mapped[str | None] = mapped_column(Text)
    #: One more than the highest before (edits are made one at a time): processes compare it to notice a change.
    revision: Mapped[int] = mapped_column(Integer, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))


class ProcessInstance(TimestampMixin, db.Model):
    __tablename__ = "process_instance"
    __table_args__ = (
        Index("ix_process_instance_started_by_created", "started_by_id", "created_at"),
        Index("ix_process_instance_subject_person", "subject_person_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id"), nullable=False)
    process_key: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    #: content_hash of the version: finds the cached parsed spec without loading the version row.
    version_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=RUNNING, index=True)
    #: Why the instance ended: approved / rejected / withdrawn / return_limit.
    outcome: Mapped[str | None] = mapped_column(String(32))
    state_json: Mapped[str] = mapped_column(Text, nullable=False)
    serializer_version: Mapped[str] = mapped_column(String(16), nullable=False)
    #: Optimistic lock; PostgreSQL also takes SELECT … FOR UPDATE on every action.
    lock_version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    started_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
    #: Organisation the starter acted for (a unit declaring for its staff), if any.
    started_for_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    subject_person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    subject_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    #: {lane name: organisation id or null}, resolved once at start relative to the subject.
    lane_orgs: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)

    applicant_name: Mapped[str | None] = mapped_column(String(100))
    applicant_id_number: Mapped[str | None] = mapped_column(String(18))
    year: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str | None] = mapped_column(String(200))
    return_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)

    version: Mapped[ProcessVersion] = relationship(lazy="select")

    __mapper_args__ = {"version_id_col": lock_version}


class WorkflowTask(db.Model):
    """One row per user task that became ready; the inbox reads only this table."""

    __tablename__ = "workflow_task"
    __table_args__ = (
        Index(
            "ix_workflow_task_open_org",
            "candidate_org_id",
            "created_at",
            "id",
            postgresql_where=text("completed_at IS NULL"),
            sqlite_where=text("completed_at IS NULL"),
            # the inbox's year / process filters and its count are answered from the index alone
            postgresql_include=["year", "process_key"],
        ),
        # the inbox's name / ID-number prefix search (LIKE 'q%') within an organisation's open tasks;
        # pattern ops make the prefix an index range whatever the database's collation
        Index(
            "ix_workflow_task_open_org_name",
            "candidate_org_id",
            "applicant_name",
            postgresql_where=text("completed_at IS NULL"),
            sqlite_where=text("completed_at IS NULL"),
            postgresql_ops={"applicant_name": "varchar_pattern_ops"},
        ),
        Index(
            "ix_workflow_task_open_org_id_number",
            "candidate_org_id",
            "applicant_id_number",
            postgresql_where=text("completed_at IS NULL"),
            sqlite_where=text("completed_at IS NULL"),
            postgresql_ops={"applicant_id_number": "varchar_pattern_ops"},
        ),
        Index(
            "ix_workflow_task_open_user",
            "candidate_user_id",
            "created_at",
            "id",
            postgresql_where=text("completed_at IS NULL"),
            sqlite_where=text("completed_at IS NULL"),
        ),
        Index("ix_workflow_task_instance", "instance_id"),
    )

    #: The SpiffWorkflow task UUID: stable across serialization.
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), nullable=False)
    process_key: Mapped[str] = mapped_column(String(64), nullable=False)
    task_spec: Mapped[str] = mapped_column(String(100), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    lane: Mapped[str | None] = mapped_column(String(64))
    form: Mapped[str | None] = mapped_column(String(200))
    candidate_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    #: Permission module a member of the candidate organisation needs (e.g. credit_review).
    candidate_permission: Mapped[str | None] = mapped_column(String(32))
    #: Set for applicant-lane tasks: only this user may act.
    candidate_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column(DateTime)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    #: closed without a decision (instance cancelled, branch discarded).
    cancelled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    applicant_name: Mapped[str | None] = mapped_column(String(100), index=True)
    applicant_id_number: Mapped[str | None] = mapped_column(String(18), index=True)
    year: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str | None] = mapped_column(String(200))

    instance: Mapped[ProcessInstance] = relationship()

    @property
    def is_open(self) -> bool:
        return self.completed_at is None


class ApprovalEvent(db.Model):
    """Append-only audit trail: one row per decision (审批流程)."""

    __tablename__ = "approval_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), nullable=False, index=True)
    task_id: Mapped[str | None] = mapped_column(String(36))
    step: Mapped[str] = mapped_column(String(100), nullable=False)
    step_name: Mapped[str] = mapped_column(String(200), nullable=False)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    organisation_name: Mapped[str | None] = mapped_column(String(200))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    user_name: Mapped[str | None] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    #: submit / approve / reject / return / resubmit / withdraw / closed
    outcome: Mapped[str] = mapped_column(String(32), nullable=False)
    comment: Mapped[str | None] = mapped_column(Text)
    #: {field: [old, new]} for what this step changed.
    changes: Mapped[dict | None] = mapped_column(JSON)


class Attachment(TimestampMixin, db.Model):
    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    content_type: Mapped[str] = mapped_column(String(100), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
