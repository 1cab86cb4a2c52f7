"""Who may change approval chains, and the versions they see."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from app.accounts.actor import Actor
from app.accounts.models import OrgKind, Role
from app.audit.models import AuditEntry
from app.core.errors import NotFound, PermissionDenied, ValidationFailed
from app.core.models import utcnow
from app.extensions import db
from app.processes_admin.models import ProcessDraft
from app.workflow import dryrun, forms, validation, versions
from app.workflow.engine import ProcessDefinitionError
from app.workflow.forms import PICKER_SOURCES
from app.workflow.models import DecisionVersion, ProcessInstance, ProcessVersion

MAX_BPMN_BYTES = 2 * 1024 * 1024


def can_manage(actor: Actor) -> bool:
    """Administrators of a province-level HR bureau own the province's approval chains."""
    return any(m.role == Role.ADMIN and m.organisation.kind == OrgKind.HR_BUREAU
               and m.organisation.level == "province" for m in actor.memberships)


def _require(actor: Actor) -> None:
    if not can_manage(actor):
        raise PermissionDenied("只有省级人社部门管理员可以管理审批流程")


@dataclass(frozen=True)
class VersionRow:
    version: ProcessVersion
    running: int
    #: Who made it the active version last, and when (from the audit log's ``process.deploy`` entries);
    #: None for a version loaded from processes/ by the platform itself.
    deployed_by: str | None = None
    deployed_at: datetime | None = None


def process_keys() -> list[str]:
    return sorted(p.stem for p in versions.PROCESSES_DIR.glob("*.bpmn"))


def overview(actor: Actor) -> list[ProcessVersion]:
    """The current version of every shipped process."""
    _require(actor)
    return [v for v in (versions.current_version(k) for k in process_keys()) if v is not None]


def history(actor: Actor, key: str) -> list[VersionRow]:
    """Every version of ``key``, newest first, with its running instances."""
    _require(actor)
    if key not in process_keys():
        raise NotFound("没有这个审批流程")
    versions.current_version(key)
    running = dict(db.session.execute(
        select(ProcessInstance.process_version_id, func.count())
        .where(ProcessInstance.status == "running").group_by(ProcessInstance.process_version_id)).all())
    rows = list(db.session.scalars(select(ProcessVersion).where(ProcessVersion.process_key == key)
                                   .order_by(ProcessVersion.version.desc())))
    deployed = _deployments([v.id for v in rows])
    return [VersionRow(v, running.get(v.id, 0), *deployed.get(v.id, (None, v.created_at))) for v in rows]


def _deployments(ids: list[int]) -> dict[int, tuple[str | None, datetime]]:
    """{version id: (login, time)} of the latest ``process.deploy`` entry of each version."""
    entries = db.session.execute(
        select(AuditEntry.object_id, AuditEntry.actor_login, AuditEntry.at)
        .where(AuditEntry.action == "process.deploy", AuditEntry.object_type == ProcessVersion.__tablename__,
               AuditEntry.object_id.in_([str(i) for i in ids]))
        .order_by(AuditEntry.id))
    return {int(object_id): (login, at) for object_id, login, at in entries}


def version(actor: Actor, key: str, number: int) -> ProcessVersion:
    _require(actor)
    row = db.session.scalar(select(ProcessVersion).where(ProcessVersion.process_key == key,
                                                         ProcessVersion.version == number))
    if row is None:
        raise NotFound("没有这个流程版本")
    return row


def editor_config(actor: Actor, key: str) -> dict:
    """What the editor's properties panel offers: lanes with labels, forms with their fields, operations."""
    from app.core.i18n import translate
    from app.workflow import registry
    from app.workflow.forms import form_exists, form_files, load_form
    from app.workflow.lanes import known_lanes

    _require(actor)
    forms_dir = versions.bpmn_path(key)[1]
    choices = []
    for name in form_files(forms_dir, ".schema.json"):
        try:
            schema = load_form(name, forms_dir)
        except (ValueError, OSError):
            continue
        ui = name.replace(".schema.json", ".uischema.json")
        choices.append({"name": name, "ui": ui if form_exists(ui, forms_dir) else None,
                        "title": translate(schema.get("title") or name),
                        "fields": [translate(p.get("title") or n) for n, p in (schema.get("properties") or {}).items()],
                        "review": "outcome" in (schema.get("properties") or {})})
    return {"lanes": [{"key": k, "label": translate(v)} for k, v in known_lanes().items()],
            "forms": choices, "operations": registry.operation_names()}


def validate(actor: Actor, data: bytes) -> list[validation.Problem]:
    """Every problem of a BPMN or DMN text (an empty list: it can be deployed)."""
    _require(actor)
    return validation.validate(data)


@dataclass(frozen=True)
class DryRun:
    problems: list[validation.Problem]
    paths: list[dryrun.PathResult]

    @property
    def stranded(self) -> list[dryrun.PathResult]:
        return [p for p in self.paths if p.stranded]

    @property
    def deployable(self) -> bool:
        return not self.problems and not self.stranded


def dry_run(actor: Actor, key: str, data: bytes) -> DryRun:
    """Validate a draft of ``key`` and, when it is valid, play the sample cases through it."""
    _require(actor)
    if key not in process_keys():
        raise NotFound("没有这个审批流程")
    problems = validation.validate(data, expected_key=key)
    if problems:
        return DryRun(problems, [])
    bundle = versions.bundle_from_text(data.decode("utf-8"), forms_dir=versions.bpmn_path(key)[1])
    return DryRun([], dryrun.dry_run(versions.parse_bundle(bundle, cache=False), bundle.forms))


def _gate(actor: Actor, key: str, data: bytes) -> None:
    """Refuse a diagram with problems, or one that strands a sample case."""
    report = dry_run(actor, key, data)
    if report.problems:
        raise ValidationFailed("流程文件未通过检查，未保存",
                               fields={"file": "\n".join(p.message for p in report.problems)})
    if report.stranded:
        path = report.stranded[0]
        raise ValidationFailed("试运行时有申请无法办结，未保存", fields={
            "file": f"{path.scenario} / {path.applicant}: {path.stranded} ({path.stranded_at})"})


def migration_preview(actor: Actor, key: str, number: int, step: str | None = None) -> list:
    """Which running cases on other versions can move to version ``number`` of ``key``, and why not."""
    from app.workflow import migration

    return migration.preview(key, version(actor, key, number), step)


def migration_start(actor: Actor, key: str, number: int, instance_ids: list[int] | None,
                    step: str | None = None):
    """Start the background job moving the chosen cases (all movable ones by default); the caller commits
    and then sends it (``app.taskcentre.services.send``)."""
    from app.processes_admin import migration_job

    target = version(actor, key, number)
    movable = [c.instance_id for c in migration_preview(actor, key, number, step) if c.movable]
    chosen = movable if instance_ids is None else [i for i in instance_ids if i in set(movable)]
    if not chosen:
        raise ValidationFailed("没有可以迁移的申请", fields={"instance_ids": "所选申请都不能迁移到这个版本"})
    return migration_job.start(actor, target, chosen)


def upload(actor: Actor, key: str, filename: str, data: bytes) -> ProcessVersion:
    """Store an edited diagram of ``key`` as its new active version; errors name the offending element."""
    _require(actor)
    if key not in process_keys():
        raise NotFound("没有这个审批流程")
    if not filename.lower().endswith(".bpmn"):
        raise ValidationFailed("文件类型不对", fields={"file": "请上传 .bpmn 文件（BPMN 2.0 XML）"})
    if len(data) > MAX_BPMN_BYTES:
        raise ValidationFailed("文件太大", fields={"file": "流程文件不能超过 2MB"})
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationFailed("文件编码不对", fields={"file": "流程文件必须是 UTF-8 编码的 XML"}) from None
    try:
        versions.bundle_from_text(text)  # the old first-problem answer for a file that is plainly broken
    except ProcessDefinitionError as exc:
        raise ValidationFailed("流程文件未通过检查，未保存", fields={"file": str(exc)}) from None
    _gate(actor, key, data)
    try:
        row = versions.upload(text, expected_key=key, actor=actor)
    except ProcessDefinitionError as exc:
        raise ValidationFailed("流程文件未通过检查，未保存", fields={"file": str(exc)}) from None
    db.session.execute(delete(ProcessDraft).where(ProcessDraft.process_key == key, ProcessDraft.bpmn_xml == text))
    return row


def _text(data: bytes) -> str:
    if len(data) > MAX_BPMN_BYTES:
        raise ValidationFailed("文件太大", fields={"file": "流程文件不能超过 2MB"})
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationFailed("文件编码不对", fields={"file": "流程文件必须是 UTF-8 编码的 XML"}) from None


def _known(key: str) -> None:
    if key not in process_keys():
        raise NotFound("没有这个审批流程")


def draft(actor: Actor, key: str) -> ProcessDraft | None:
    """The draft of ``key`` kept on the server, if any."""
    _require(actor)
    _known(key)
    return db.session.scalar(select(ProcessDraft).where(ProcessDraft.process_key == key))


def save_draft(actor: Actor, key: str, data: bytes, base_version: int | None = None) -> ProcessDraft:
    """Keep an unfinished edit of ``key`` (replacing the previous draft); it is not checked: the caller shows
    :func:`validate`'s problems beside it."""
    from app.core.models import utcnow

    row = draft(actor, key)
    text = _text(data)
    if not text.strip():
        raise ValidationFailed("草稿是空的", fields={"file": "请提交流程图的 BPMN XML"})
    if row is None:
        row = ProcessDraft(process_key=key, bpmn_xml=text)
        db.session.add(row)
    row.bpmn_xml = text
    row.base_version = base_version
    row.saved_by_id = actor.user.id
    row.saved_at = utcnow()
    db.session.flush()
    return row


def discard_draft(actor: Actor, key: str) -> None:
    row = draft(actor, key)
    if row is None:
        raise NotFound("这个流程没有草稿")
    db.session.delete(row)
    db.session.flush()


def restore(actor: Actor, key: str, number: int) -> ProcessVersion:
    """Deploy the diagram of version ``number`` again as a new version (numbered after the newest): the old
    version stays as it was, the restored copy says where it came from in a comment (the same diagram twice
    would be the same version)."""
    old = version(actor, key, number)
    latest = max(r.version.version for r in history(actor, key))
    text = re.sub(r"<!-- restored from version \d+ as version \d+ -->\n", "", old.bpmn_xml, count=1)
    note = f"<!-- restored from version {number} as version {latest + 1} -->\n"
    declaration = re.match(r"\s*<\?xml[^>]*\?>\s*", text)
    at = declaration.end() if declaration else 0
    return upload(actor, key, f"{key}.bpmn", (text[:at] + note + text[at:]).encode())


# --------------------------------------------------------------------------- decision tables (DMN)


def decision_keys() -> list[str]:
    from app.workflow.decisions import decisions_dir

    return sorted(p.stem for p in decisions_dir().glob("*.dmn"))


def _known_decision(actor: Actor, key: str) -> None:
    _require(actor)
    if key not in decision_keys():
        raise NotFound("没有这个决策表")


def decision_history(actor: Actor, key: str) -> list[DecisionVersion]:
    """The deployed versions of a table, newest first (empty: the shipped file has never been changed)."""
    _known_decision(actor, key)
    return list(db.session.scalars(select(DecisionVersion).where(DecisionVersion.decision_key == key)
                                   .order_by(DecisionVersion.version.desc())))


def decision_text(actor: Actor, key: str, number: int | None = None) -> str:
    """The text of version ``number`` of a table, or of the one that answers now."""
    from app.workflow.decisions import active_text

    _known_decision(actor, key)
    if number is None:
        return active_text(key)
    text = db.session.scalar(select(DecisionVersion.dmn_xml).where(DecisionVersion.decision_key == key,
                                                                   DecisionVersion.version == number))
    if text is None and number == 1 and not decision_history(actor, key):  # the shipped file is version 1
        return active_text(key)
    if text is None:
        raise NotFound("没有这个决策表版本")
    return text


def check_decision(actor: Actor, key: str, data: bytes) -> list[validation.Problem]:
    """Every problem of a draft of table ``key``: the validation of any DMN text (every cell in the sandbox),
    then what the decision engine refuses."""
    from flask_babel import gettext as _

    from app.workflow.decisions import parse_decision

    _known_decision(actor, key)
    problems = validation.validate(data)
    if problems:
        return problems
    try:
        parse_decision(data.decode("utf-8"), key)
    except ProcessDefinitionError as exc:
        return [validation.Problem(exc.element, None, _("决策引擎拒绝了这张表（决策的 id 应为 %(key)s）：%(detail)s",
                                                        key=key, detail=str(exc)))]
    return []


def try_decision(actor: Actor, key: str, data: bytes, inputs: dict) -> dict:
    """What a draft of table ``key`` answers for ``inputs`` (nothing is stored)."""
    from app.workflow.decisions import DecisionError, evaluate, parse_decision

    problems = check_decision(actor, key, data)
    if problems:
        raise ValidationFailed("决策表未通过检查", fields={"file": "\n".join(p.message for p in problems)})
    try:
        return evaluate(parse_decision(data.decode("utf-8"), key), inputs)
    except DecisionError as exc:
        raise ValidationFailed("没有规则适用于这些输入", fields={"inputs": str(exc)}) from None


def deploy_decision(actor: Actor, key: str, data: bytes) -> DecisionVersion:
    """Make a table the one that answers from now on, as a new version (the shipped file is recorded as
    version 1 the first time). A text deployed before makes that version current again."""
    import hashlib

    from app.audit import services as audit
    from app.workflow.decisions import active_text, forget_active

    text = _text(data)
    problems = check_decision(actor, key, data)
    if problems:
        raise ValidationFailed("决策表未通过检查，未保存", fields={"file": "\n".join(p.message for p in problems)})
    rows = decision_history(actor, key)
    if not rows:  # the shipped file becomes version 1, so that it can be restored
        shipped = active_text(key)
        rows = [DecisionVersion(decision_key=key, version=1, content_hash=hashlib.sha256(shipped.encode()).hexdigest(),
                                dmn_xml=shipped, active=True)]
        db.session.add(rows[0])
    content_hash = hashlib.sha256(text.encode()).hexdigest()
    row = next((r for r in rows if r.content_hash == content_hash), None)
    if row is None:
        row = DecisionVersion(decision_key=key, version=rows[0].version + 1, content_hash=content_hash,
                              dmn_xml=text, deployed_by_id=actor.user.id)
        db.session.add(row)
    for other in rows:
        other.active = False
    row.active = True
    try:
        db.session.flush()
    except IntegrityError:
        raise versions.VersionConflict("决策表正在被他人修改，请刷新后重试") from None
    audit.record("decision.deploy", actor=actor, obj=row, details={"decision": key, "version": row.version,
                                                                  "content_hash": content_hash})
    forget_active(key)
    return row


def restore_decision(actor: Actor, key: str, number: int) -> DecisionVersion:
    """Deploy version ``number`` of a table again as a new version (the old one stays as it was)."""
    latest = max((r.version for r in decision_history(actor, key)), default=1)
    text = re.sub(r"<!-- restored from version \d+ as version \d+ -->\n", "", decision_text(actor, key, number),
                  count=1)
    note = f"<!-- restored from version {number} as version {latest + 1} -->\n"
    declaration = re.match(r"\s*<\?xml[^>]*\?>\s*", text)
    at = declaration.end() if declaration else 0
    return deploy_decision(actor, key, (text[:at] + note + text[at:]).encode())


# --------------------------------------------------------------------------- forms (forms/*.schema.json)

#: The name of a form: ``<name>.schema.json`` and ``<name>.uischema.json`` in forms/.
FORM_STEM = re.compile(r"[a-z][a-z0-9_]{0,60}")


def _forms_dir() -> Path:
    return forms.FORMS_DIR


def form_names(actor: Actor) -> list[str]:
    _require(actor)
    return [name.removesuffix(".schema.json") for name in forms.form_files(_forms_dir(), ".schema.json")]


def forms_in_use() -> dict[str, list[ProcessVersion]]:
    """{form name: the active process versions that use it (directly, or through a form that extends it)}."""
    import json

    used: dict[str, list[ProcessVersion]] = {}
    active = db.session.scalars(select(ProcessVersion).where(ProcessVersion.active.is_(True))
                                .order_by(ProcessVersion.process_key))
    for row in active:
        for filename in row.forms:
            stem = filename.removesuffix(".schema.json").removesuffix(".uischema.json")
            seen = set()
            while stem and stem not in seen:  # a form extending another keeps its base in use too
                seen.add(stem)
                used.setdefault(stem, [])
                if row not in used[stem]:
                    used[stem].append(row)
                try:
                    base = json.loads(forms.form_text(f"{stem}.schema.json", _forms_dir())).get("x-extends")
                except (ValueError, OSError, AttributeError):
                    base = None
                stem = base.removesuffix(".schema.json") if isinstance(base, str) else None
    return used


def _form_known(actor: Actor, stem: str) -> None:
    _require(actor)
    if not FORM_STEM.fullmatch(stem) or not forms.form_exists(f"{stem}.schema.json", _forms_dir()):
        raise NotFound("没有这个表单")


def form_texts(actor: Actor, stem: str) -> tuple[str, str]:
    """The JSON Schema and UI schema texts of a form (the UI schema "{}" when it has none)."""
    _form_known(actor, stem)
    ui = f"{stem}.uischema.json"
    return (forms.form_text(f"{stem}.schema.json", _forms_dir()),
            forms.form_text(ui, _forms_dir()) if forms.form_exists(ui, _forms_dir()) else "{}\n")


def check_form(schema_text: str, ui_text: str) -> tuple[dict[str, str], dict | None, dict | None]:
    """({"schema"|"ui": what is wrong}, the schema with its base merged in, the UI schema): a form must be
    JSON objects, a valid JSON Schema (draft 2020-12) with properties; its UI schema names only its fields."""
    import json

    from flask_babel import gettext as _
    from jsonschema import Draft202012Validator, SchemaError

    from app.workflow.forms import resolve_extends

    errors: dict[str, str] = {}
    parsed: dict[str, dict] = {}
    for field, text in (("schema", schema_text), ("ui", ui_text or "{}")):
        try:
            value = json.loads(text)
        except RecursionError:
            errors[field] = _("嵌套层次太深，无法检查")
            continue
        except ValueError as exc:
            errors[field] = _("不是有效的 JSON（第 %(line)s 行第 %(col)s 列）：%(detail)s",
                              line=getattr(exc, "lineno", "?"), col=getattr(exc, "colno", "?"),
                              detail=getattr(exc, "msg", str(exc)))
            continue
        if not isinstance(value, dict):
            errors[field] = _("应当是一个 JSON 对象（{…}）")
            continue
        parsed[field] = value
    schema = None
    if "schema" in parsed:
        try:
            schema = resolve_extends(parsed["schema"], _forms_dir())
            Draft202012Validator.check_schema(schema)
        except RecursionError:
            errors["schema"] = _("嵌套层次太深，无法检查")
            schema = None
        except SchemaError as exc:
            errors["schema"] = _("不是有效的 JSON Schema：%(detail)s（位置 %(path)s）", detail=exc.message,
                                 path="/".join(str(p) for p in exc.path) or "/")
            schema = None
        except (ValueError, OSError) as exc:
            errors["schema"] = _("继承的表单（x-extends）无法读取：%(detail)s", detail=str(exc))
            schema = None
        if schema is not None and not isinstance(schema.get("properties"), dict):
            errors["schema"] = _("表单没有字段：JSON Schema 需要 properties")
            schema = None
    ui = parsed.get("ui")
    if schema is not None and ui is not None:
        unknown = [k for k in ui if not k.startswith("ui:") and k not in schema["properties"]]
        if unknown:
            errors["ui"] = _("UI schema 提到了表单没有的字段：%(names)s", names="、".join(unknown))
        sources = {opts.get("ui:source") for opts in ui.values() if isinstance(opts, dict)} - {None}
        if sources - PICKER_SOURCES:
            errors["ui"] = _("ui:source 只能是 %(known)s", known="、".join(sorted(PICKER_SOURCES)))
    return errors, schema, ui


def _form_changes(stem: str, schema_text: str | None, ui_text: str | None) -> dict[str, str | None]:
    """{file name: text as it will be stored, or None for deleted} of a form's two files."""
    return {f"{stem}.schema.json": None if schema_text is None else schema_text.rstrip() + "\n",
            f"{stem}.uischema.json": None if ui_text is None else (ui_text or "{}").rstrip() + "\n"}


def _check_processes_with(changes: dict[str, str | None], uploaded: dict[str, str]) -> dict[str, str]:
    """The processes checked against the forms with this change made: the shipped diagrams (a changed form makes
    their next version) and the administrators' diagrams active in their place (deployed again with it); a field
    a condition or script reads, or a form a diagram names, must not vanish from under them."""
    from flask_babel import gettext as _

    from app.core.i18n import translate
    from app.workflow.forms import load_form

    keys = [key for key in process_keys() if versions.bpmn_path(key)[1] == _forms_dir()]
    diagrams = [(key, versions.bpmn_path(key)[0].read_text(encoding="utf-8")) for key in keys]
    diagrams += list(uploaded.items())
    before = []
    for _key, xml in diagrams:
        try:
            before.append(versions.bundle_from_text(xml, forms_dir=_forms_dir()).forms)
        except ProcessDefinitionError:
            before.append(None)
    broken: dict[str, ProcessDefinitionError] = {}
    with forms.pending(changes):
        schema_name = next(name for name in changes if name.endswith(".schema.json"))
        if changes[schema_name] is not None:
            try:  # the form as it will be read once saved: its bases may lead back to it
                load_form(schema_name, _forms_dir())
            except (ValueError, OSError) as exc:
                return {"schema": _("继承的表单（x-extends）无法读取：%(detail)s", detail=str(exc))}
        for (key, xml), old in zip(diagrams, before, strict=True):
            try:
                bundle = versions.bundle_from_text(xml, forms_dir=_forms_dir())
                if bundle.forms != old:  # uses it, or a form on it
                    versions.parse_bundle(bundle, cache=False)
            except ProcessDefinitionError as exc:
                broken.setdefault(key, exc)
    if broken:  # named as they stand now (out of the block: the names would be read with the change)
        names = {key: versions.current_version(key) for key in broken}
        return {"schema": _("改动后这些流程无法通过检查：%(detail)s", detail="；".join(
            f"{translate(names[key].name) if names[key] else key}: {exc}" for key, exc in broken.items()))}
    return {}


def save_form(actor: Actor, stem: str, schema_text: str, ui_text: str, *, new: bool = False) -> None:
    """Store a form as edited (table ``form_edit``, over the shipped file, seen by every process): a changed form
    reaches new cases as a new version of every process that uses it; running cases keep their version's copy."""
    from app.audit import services as audit

    _require(actor)
    if not FORM_STEM.fullmatch(stem):
        raise ValidationFailed("表单名称不对", fields={"name": "只能用小写字母、数字和下划线，以字母开头"})
    versions.lock_forms()  # one form change at a time: each is checked against the one before
    exists = forms.form_exists(f"{stem}.schema.json", _forms_dir())
    if new and exists:
        raise ValidationFailed("已有同名表单", fields={"name": "请换一个名称"})
    if not new and not exists:
        raise NotFound("没有这个表单")
    errors, _schema, _ui = check_form(schema_text, ui_text)
    changes = _form_changes(stem, schema_text, ui_text)
    uploaded: dict[str, str] = {}
    if not errors:
        uploaded = _uploaded_diagrams()
        errors = _check_processes_with(changes, uploaded)
    if errors:
        raise ValidationFailed("表单未通过检查，未保存", fields=errors)
    _store_form_changes(actor, changes, uploaded)
    audit.record("form.save", actor=actor, details={"form": stem, "new": new})


def _store_form_changes(actor: Actor, changes: dict[str, str | None], uploaded: dict[str, str]) -> None:
    """Write the change into ``form_edit`` and make the new versions of the processes it touches (``uploaded``:
    :func:`_uploaded_diagrams` as read before the change)."""
    from app.workflow.models import FormEdit

    try:
        revision = db.session.scalar(select(func.max(FormEdit.revision))) or 0
        for name, text in changes.items():
            revision += 1
            row = db.session.get(FormEdit, name) or FormEdit(name=name)
            row.text, row.revision, row.updated_at, row.updated_by_id = text, revision, utcnow(), actor.id
            db.session.add(row)
        db.session.flush()
        with forms.pending(changes):
            _redeploy_with_new_forms(actor, uploaded)
    except ProcessDefinitionError as exc:  # checked before; should a diagram still object, a field error, not a 500
        raise ValidationFailed("表单未通过检查，未保存", fields={"schema": str(exc)}) from None
    finally:  # saved or not, read the forms again from the database
        forms.forget_edits()
        versions.forget_file_bundles()


def _uploaded_diagrams() -> dict[str, str]:
    """{process key: BPMN text} of the processes whose active version is an administrator's diagram rather than
    the shipped file."""
    result = {}
    for key in process_keys():
        path, forms_dir = versions.bpmn_path(key)
        if forms_dir != _forms_dir():
            continue
        active = versions.current_version(key)
        if active is not None and active.bpmn_xml != path.read_text(encoding="utf-8"):
            result[key] = active.bpmn_xml
    return result


def _redeploy_with_new_forms(actor: Actor, uploaded: dict[str, str]) -> None:
    """A changed form makes a new version of every process using it. The shipped file's new bundle is recorded
    first (so it is not taken for a newer change later); where an administrator's diagram was active, that
    diagram is then deployed again with the changed form, so editing a form never swaps the diagram."""
    for key in process_keys():
        path, forms_dir = versions.bpmn_path(key)
        if forms_dir != _forms_dir():
            continue
        versions.ensure_version(versions.bundle_from_file(path, forms_dir), actor)
        if key in uploaded:
            versions.upload(uploaded[key], expected_key=key, actor=actor)


def delete_form(actor: Actor, stem: str) -> None:
    """Delete a form that no active process version uses (InvalidState naming the processes otherwise)."""
    from app.audit import services as audit
    from app.core.errors import InvalidState
    from app.core.i18n import translate

    _require(actor)
    versions.lock_forms()
    _form_known(actor, stem)
    users = forms_in_use().get(stem)
    if users:
        raise InvalidState("表单正被启用中的流程使用，不能删除", fields={
            "name": "、".join(f"{translate(v.name)} v{v.version}" for v in users)})
    changes = _form_changes(stem, None, None)
    uploaded = _uploaded_diagrams()
    problems = _check_processes_with(changes, uploaded)  # a shipped diagram behind an uploaded one may name it
    if problems:
        raise InvalidState("表单正被启用中的流程使用，不能删除", fields={"name": problems["schema"]})
    _store_form_changes(actor, changes, uploaded)
    audit.record("form.delete", actor=actor, details={"form": stem})
