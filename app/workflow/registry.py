"""Which domain owns which process: an explicit map from process key to its hooks.

A process declares itself in one place, its :class:`ProcessHooks`: the key, who may start it, the lanes of its
own with their labels, the start page it needs (if the generic one does not serve) and its domain effects.
``create_app`` calls the ``register()`` of every module in ``app.PROCESS_MODULES`` (README: "Adding an
approval process")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.accounts.actor import Actor
    from app.accounts.models import Organisation
    from app.core.batch import WriteBatch
    from app.people.models import Person
    from app.workflow.models import ProcessInstance


#: The names the platform puts in an instance's data besides the form fields: ``lanes`` (which lanes have a
#: reviewing organisation) and what the domains' ``prepare_start`` hooks give in :attr:`StartContext.data`.
#: The lint refuses a diagram reading a name that no form, script, service task or this list provides.
DATA_NAMES = frozenset({"lanes", "declared_by_unit", "applicant_name", "person_id"})


@dataclass
class StartContext:
    """What a domain tells the workflow about a new instance."""

    subject_person: Person | None
    subject_unit: Organisation | None
    started_for_org: Organisation | None = None
    applicant_name: str | None = None
    applicant_id_number: str | None = None
    year: int | None = None
    title: str | None = None
    #: Extra workflow data the platform provides (e.g. declared_by_unit); each name is in :data:`DATA_NAMES`.
    data: dict[str, Any] = field(default_factory=dict)
    #: Process-specific lanes (institution, target_unit, ...).
    extra_lanes: dict[str, Organisation | None] = field(default_factory=dict)


@dataclass
class OperationContext:
    instance: ProcessInstance
    actor: Actor
    #: The action's write batch (``app.core.batch.WriteBatch``), when the operation runs inside a task's
    #: completion: a Core INSERT / UPDATE added here goes to the database with the action's own writes (one
    #: round trip on PostgreSQL), after the operation returns. Only for writes nothing in this action reads
    #: back. None at the start of an instance: write directly.
    writes: WriteBatch | None = None


#: A registered service-task operation: (params, task data, context) -> JSON-able result.
Operation = Callable[[dict[str, Any], dict[str, Any], OperationContext], Any]


@dataclass
class ProcessHooks:
    key: str
    #: Permission module a reviewer needs to act on this process's tasks.
    permission: str
    #: Validate the start form (already schema-valid) and describe the instance.
    prepare_start: Callable[[dict[str, Any], Actor], StartContext]
    #: Refresh summary columns after the applicant resubmits.
    summarise: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    #: Who may start it: actor -> bool.
    can_start: Callable[[Actor], bool] = lambda actor: True
    #: Called with the instance and its data after start and after each resubmission (summary tables). At
    #: the start it also gets the batch of the instance's first writes (``app.core.batch.WriteBatch``): an
    #: INSERT added there goes to the database with them; after a resubmission it gets None.
    on_data: Callable[[ProcessInstance, dict[str, Any], WriteBatch | None], None] | None = None
    #: Lanes of this process's own (beyond the relations of ``app.workflow.lanes.LANE_LABELS``), each with
    #: its label as administrators read it (Chinese; translated through the catalogue like any label). The
    #: organisation of each comes from ``StartContext.extra_lanes``.
    lanes: dict[str, str] = field(default_factory=dict)
    #: The start page's template when the generic one (``cases/start.html``) does not serve; it gets the
    #: same context (schema, ui, values, errors, message, files, action, heading, process_key).
    start_template: str | None = None
    #: Values the start form opens with, for this actor (e.g. this year).
    start_defaults: Callable[[Actor], dict[str, Any]] | None = None
    #: What an actor who may not start it is told (403).
    start_denied: str = "您无权发起此流程"
    #: The flash after a successful start.
    started_message: str = "已提交，等待审核"
    #: The folder of ``<key>.bpmn`` and its forms when not processes/ and forms/ (an add-on's, a test's).
    directory: Path | None = None
    #: Words of the case page and the inbox: "申报" (declaration) by default, e.g. "申请" for registrations.
    noun: str = "申报"
    #: How the submission reads in the case's history (e.g. "送审" for a plan sent for review); None: by the noun
    #: (提交申请 for 申请, 提交申报 for 申报).
    submitted: str | None = None
    #: The inbox filter (:func:`register_inbox_group`) that lists this process's tasks together with other
    #: processes' (e.g. Henan's 学时学分审批: credit-hour and grade declarations), or None.
    inbox_group: str | None = None


_HOOKS: dict[str, ProcessHooks] = {}
_OPERATIONS: dict[str, Operation] = {}
_INBOX_GROUPS: dict[str, str] = {}
#: How an inbox filter value names a group rather than one process (``?process=group:credit_hours``).
GROUP_PREFIX = "group:"


def register_process(hooks: ProcessHooks) -> None:
    _HOOKS[hooks.key] = hooks


def register_operation(name: str, fn: Operation) -> None:
    _OPERATIONS[name] = fn


def hooks_for(key: str) -> ProcessHooks | None:
    return _HOOKS.get(key)


def operation(name: str) -> Operation | None:
    return _OPERATIONS.get(name)


def operation_names() -> list[str]:
    return sorted(_OPERATIONS)


def process_keys() -> list[str]:
    return sorted(_HOOKS)


def register_inbox_group(key: str, label: str) -> None:
    """An inbox filter over several processes (those whose hooks name ``key`` as their ``inbox_group``), shown
    as ``label`` (Chinese; translated through the catalogue)."""
    _INBOX_GROUPS[key] = label


def inbox_groups() -> dict[str, str]:
    """``{filter value: label}`` of the inbox groups with at least one registered process."""
    used = {hooks.inbox_group for hooks in _HOOKS.values()}
    return {GROUP_PREFIX + key: label for key, label in _INBOX_GROUPS.items() if key in used}


def filtered_process_keys(value: str) -> list[str]:
    """The processes an inbox filter value stands for: a group's members, or the one process it names."""
    if value.startswith(GROUP_PREFIX):
        group = value[len(GROUP_PREFIX):]
        return sorted(key for key, hooks in _HOOKS.items() if hooks.inbox_group == group)
    return [value]


def process_lanes() -> dict[str, str]:
    """The lanes the registered processes add, with their labels."""
    return {lane: label for hooks in _HOOKS.values() for lane, label in hooks.lanes.items()}


def unregister_process(key: str) -> None:
    """Forget a process (a test's own process, after the test)."""
    _HOOKS.pop(key, None)
