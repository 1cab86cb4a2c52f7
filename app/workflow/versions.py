"""Process versions: every change to a BPMN file (or a form or DMN file it uses) is a new
immutable version; running instances stay on theirs, new ones use the newest."""

from __future__ import annotations

import functools
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree
from sqlalchemy import bindparam, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer

from app.accounts.actor import Actor
from app.audit import services as audit
from app.core.errors import InvalidState
from app.extensions import db
from app.workflow import engine, registry
from app.workflow.forms import FORMS_DIR, edits_stamp, forget_edits, form_exists, load_form
from app.workflow.lanes import known_lanes
from app.workflow.models import ProcessVersion

PROCESSES_DIR = Path(__file__).resolve().parents[2] / "processes"
_SPIFF_NS = {"spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core"}
_FORM_PROPS = ("formJsonSchemaFilename", "formUiSchemaFilename")


@dataclass(frozen=True)
class Bundle:
    key: str
    bpmn_xml: str
    dmn_files: dict[str, str]
    forms: dict[str, dict]
    content_hash: str


_FILE_MEMO: dict[Path, tuple[tuple, Bundle, float]] = {}


def bundle_from_text(bpmn_xml: str, processes_dir: Path = PROCESSES_DIR, forms_dir: Path = FORMS_DIR) -> Bundle:
    """Collect what a BPMN text needs (its forms and DMN files) and hash it all."""
    try:
        root = etree.fromstring(bpmn_xml.encode())
    except etree.XMLSyntaxError as exc:
        raise engine.ProcessDefinitionError(f"not well-formed XML: {exc.msg}", line=exc.lineno) from None
    forms: dict[str, dict] = {}
    for prop in root.xpath("//spiffworkflow:property", namespaces=_SPIFF_NS):
        if prop.get("name") in _FORM_PROPS:
            name = prop.get("value")
            owner = prop.getparent().getparent().getparent().get("id")
            try:
                exists = form_exists(name, forms_dir)
            except ValueError as exc:
                raise engine.ProcessDefinitionError(str(exc), owner, prop.sourceline) from None
            if not exists:
                raise engine.ProcessDefinitionError(f"form {name!r} not found", owner, prop.sourceline)
            try:
                forms[name] = load_form(name, forms_dir)
            except (ValueError, OSError) as exc:
                raise engine.ProcessDefinitionError(f"form {name!r} is not valid JSON: {exc}", owner) from None
    dmn_files: dict[str, str] = {}
    for ref in root.xpath("//spiffworkflow:calledDecisionId", namespaces=_SPIFF_NS):
        for path in sorted(processes_dir.glob("*.dmn")):
            text = path.read_text(encoding="utf-8")
            if f'id="{ref.text}"' in text:
                dmn_files[path.name] = text
    proc = root.find("{http://www.omg.org/spec/BPMN/20100524/MODEL}process")
    key = proc.get("id") if proc is not None else ""
    digest = hashlib.sha256(bpmn_xml.encode())
    for name in sorted(dmn_files):
        digest.update(name.encode() + b"\0" + dmn_files[name].encode())
    digest.update(json.dumps(forms, sort_keys=True, ensure_ascii=False).encode())
    return Bundle(key, bpmn_xml, dmn_files, forms, digest.hexdigest())


#: How long a file's bundle is trusted without looking at the files again (every start asks).
FILE_CHECK_SECONDS = 1.0


def bpmn_path(key: str) -> tuple[Path, Path]:
    """Where the diagram of process ``key`` and its forms live: processes/ and forms/, or the folder its
    hooks name (``ProcessHooks.directory``: an add-on's or a test's own process, diagram and forms side by side)."""
    hooks = registry.hooks_for(key)
    if hooks is not None and hooks.directory is not None:
        return hooks.directory / f"{key}.bpmn", hooks.directory
    return PROCESSES_DIR / f"{key}.bpmn", FORMS_DIR


def bundle_from_file(path: Path, forms_dir: Path = FORMS_DIR) -> Bundle:
    """The bundle of a shipped BPMN file with the forms as they stand (the files, and over forms/ what
    administrators saved in the editor); a change of the file or of a form is seen within a second."""
    edits = edits_stamp(forms_dir)
    if edits is None:  # a form change under check: read as it would be, keep nothing
        return bundle_from_text(path.read_text(encoding="utf-8"), forms_dir=forms_dir)
    hit = _FILE_MEMO.get(path)
    now = time.monotonic()
    if hit and now - hit[2] < FILE_CHECK_SECONDS:
        return hit[1]
    stat = path.stat()
    forms_stamp = max((p.stat().st_mtime_ns for p in forms_dir.glob("*.json")), default=0)
    stamp = (stat.st_mtime_ns, stat.st_size, forms_stamp, edits)
    if hit and hit[0] == stamp:
        _FILE_MEMO[path] = (stamp, hit[1], now)
        return hit[1]
    bundle = bundle_from_text(path.read_text(encoding="utf-8"), forms_dir=forms_dir)
    _FILE_MEMO[path] = (stamp, bundle, now)
    return bundle


def forget_file_bundles() -> None:
    """Look at the files and forms again at the next use (called when a form was saved or deleted)."""
    _FILE_MEMO.clear()


def parse_bundle(bundle: Bundle, *, cache: bool = True) -> engine.ParsedProcess:
    """Parse and lint a diagram about to become a version (an upload, a changed file, ``processes check``);
    ``cache=False`` for a draft that is only checked or dry-run (the editor checks every few seconds)."""
    parsed = engine.parse_process(
        bundle.bpmn_xml,
        content_hash=bundle.content_hash,
        dmn_files=bundle.dmn_files,
        forms=bundle.forms.keys(),
        lanes=tuple(known_lanes()),
        operations=registry.operation_names(),
        cache=cache,
    )
    engine.lint_definition(parsed, bundle.bpmn_xml, data_names=_data_names(bundle))
    return parsed


def _data_names(bundle: Bundle) -> set[str]:
    """What an instance's data may hold: the fields of the forms the diagram uses, the outputs of its
    decision tables, and what the platform provides."""
    names = set(registry.DATA_NAMES)
    for schema in bundle.forms.values():
        names.update((schema.get("properties") or {}).keys())
    for dmn in bundle.dmn_files.values():
        names.update(etree.fromstring(dmn.encode()).xpath("//*[local-name()='output']/@name"))
    return names


class VersionConflict(InvalidState):
    """Another transaction changed the versions of the process at the same moment (SQLite only: PostgreSQL
    queues the writers behind :func:`lock_versions`)."""


def lock_versions(key: str) -> None:
    """Let one transaction at a time create or activate versions of ``key``, until it ends: the next one
    then sees its rows (numbers follow on, one active). A transaction-scoped advisory lock on PostgreSQL
    (there is no row per process to lock); SQLite has one writer at a time anyway."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": f"process_version:{key}"})


def lock_forms() -> None:
    """Let one transaction at a time change the forms or deploy a diagram with them (until it ends), and read them
    afresh from the database under that lock rather than from this process's copy."""
    lock_versions("forms")
    forget_edits()


#: Every start looks its version up; the diagram, decision tables and forms it stores are needed only when this
#: process has not parsed that version yet (:func:`parsed_for`), so they load then, not with every look-up.
@functools.cache
def _by_hash_statement() -> Any:  # built on first use: the mappers are complete by then
    return (select(ProcessVersion)
            .where(ProcessVersion.process_key == bindparam("b_key"), ProcessVersion.content_hash == bindparam("b_hash"))
            .options(defer(ProcessVersion.bpmn_xml), defer(ProcessVersion.dmn_files), defer(ProcessVersion.forms)))


def _by_hash(bundle: Bundle) -> ProcessVersion | None:
    return db.session.scalar(_by_hash_statement(), {"b_key": bundle.key, "b_hash": bundle.content_hash})


def ensure_version(bundle: Bundle, actor: Actor | None = None) -> ProcessVersion:
    """Return the version row for ``bundle``, creating it (parsed and linted) when new: numbered after the
    newest and made the one active version of its process (under :func:`lock_versions`), deployed by
    ``actor`` (an upload), or by no one (a changed file in processes/, seen on first use)."""
    row = _by_hash(bundle)
    if row is not None:
        return row
    parsed = parse_bundle(bundle)
    lock_versions(bundle.key)
    row = _by_hash(bundle)  # made while this transaction waited for the lock
    if row is not None:
        return row
    latest = db.session.scalar(select(func.max(ProcessVersion.version))
                               .where(ProcessVersion.process_key == bundle.key)) or 0
    db.session.execute(
        ProcessVersion.__table__.update().where(ProcessVersion.process_key == bundle.key).values(active=False))
    row = ProcessVersion(
        process_key=bundle.key, name=parsed.name, version=latest + 1, content_hash=bundle.content_hash,
        bpmn_xml=bundle.bpmn_xml, dmn_files=bundle.dmn_files, forms=bundle.forms, active=True,
    )
    db.session.add(row)
    _flush_versions()
    audit.record("process.deploy", actor=actor, obj=row, details=_deployed(row, "upload" if actor else "file"))
    return row


def _deployed(row: ProcessVersion, source: str) -> dict:
    return {"process": row.process_key, "version": row.version, "content_hash": row.content_hash, "source": source}


def _flush_versions() -> None:
    try:
        db.session.flush()
    except IntegrityError:
        raise VersionConflict("流程正在被他人修改，请刷新后重试") from None


def current_version(key: str) -> ProcessVersion | None:
    """The version new instances of ``key`` use: the newest active one.

    A changed file in processes/ becomes a new active version the first time it is seen; so does a diagram an
    administrator uploads (:func:`upload`). Whichever change came last is the one new instances start on.
    """
    path, forms_dir = bpmn_path(key)
    if not path.is_file():
        return None
    row = ensure_version(bundle_from_file(path, forms_dir))
    if row.active:
        return row
    return db.session.scalar(select(ProcessVersion).where(
        ProcessVersion.process_key == key, ProcessVersion.active.is_(True))) or row


def upload(bpmn_xml: str, *, expected_key: str | None = None, actor: Actor | None = None) -> ProcessVersion:
    """Lint and store an administrator's edited diagram as the new active version of its process.

    Raises :class:`engine.ProcessDefinitionError` naming the offending element. Forms and DMN files are taken
    from forms/ and processes/, so an uploaded diagram can only use forms the platform ships.
    """
    lock_forms()  # the forms as the last saved form change left them, none saved meanwhile
    bundle = bundle_from_text(bpmn_xml, forms_dir=bpmn_path(expected_key)[1] if expected_key else FORMS_DIR)
    if not bundle.key:
        raise engine.ProcessDefinitionError("the file has no bpmn:process element")
    if expected_key is not None and bundle.key != expected_key:
        raise engine.ProcessDefinitionError(
            f"the process id is {bundle.key!r}, expected {expected_key!r}", bundle.key)
    if not bpmn_path(bundle.key)[0].is_file():
        raise engine.ProcessDefinitionError(f"unknown process {bundle.key!r}: only shipped processes can be edited",
                                            bundle.key)
    lock_versions(bundle.key)
    row = ensure_version(bundle, actor)
    db.session.refresh(row, ["active"])  # as the previous holder of the lock left it
    if not row.active:  # re-uploading an older version makes it current again
        db.session.execute(ProcessVersion.__table__.update()
                           .where(ProcessVersion.process_key == bundle.key).values(active=False))
        row.active = True
        _flush_versions()
        audit.record("process.deploy", actor=actor, obj=row, details=_deployed(row, "reactivated"))
    return row


_FORMS: dict[str, dict] = {}


def forms_for(content_hash: str) -> dict:
    """The forms snapshot of a version, cached in this process by content hash."""
    forms = _FORMS.get(content_hash)
    if forms is None:
        version = db.session.scalar(select(ProcessVersion).where(ProcessVersion.content_hash == content_hash))
        forms = _FORMS[content_hash] = version.forms
    return forms


def parsed_by_hash(content_hash: str) -> engine.ParsedProcess:
    hit = engine.cached(content_hash)
    if hit is not None:
        return hit
    version = db.session.scalar(select(ProcessVersion).where(ProcessVersion.content_hash == content_hash))
    return parsed_for(version)


def parsed_for(version: ProcessVersion) -> engine.ParsedProcess:
    """The parsed spec of a stored version (cached in this process by content hash)."""
    hit = engine.cached(version.content_hash)
    if hit is not None:
        return hit
    _FORMS[version.content_hash] = version.forms
    return engine.parse_process(
        version.bpmn_xml,
        content_hash=version.content_hash,
        dmn_files=version.dmn_files,
        forms=version.forms.keys(),
        lanes=tuple(known_lanes()),
        operations=registry.operation_names(),
    )


def sync_all() -> list[ProcessVersion]:
    """Load every processes/*.bpmn; used by the CLI and at seed time."""
    return [ensure_version(bundle_from_file(p)) for p in sorted(PROCESSES_DIR.glob("*.bpmn"))]
