"""The workflow adapter: linting of admin-edited BPMN, the restricted environment, versions."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.workflow import engine, services, versions
from app.workflow.models import ProcessInstance, ProcessVersion
from tests.conftest import actor

SOURCE = (versions.PROCESSES_DIR / "credit_hour_approval.bpmn").read_text(encoding="utf-8")


def lint(text: str) -> engine.ParsedProcess:
    return versions.parse_bundle(versions.bundle_from_text(text))


def test_the_shipped_processes_pass_the_lint(app):
    assert lint(SOURCE).key == "credit_hour_approval"


@pytest.mark.parametrize("old,new,message,element", [
    ("lanes['supervisory_department']", "__import__('os').getpid() > 0", "is not allowed", "gw_supervisory_needed"),
    ("lanes['supervisory_department']", "().__class__.__base__.__subclasses__()", "is not allowed",
     "gw_supervisory_needed"),
    ("lanes['supervisory_department']", "open('/etc/passwd')", "only calls to", "gw_supervisory_needed"),
    ("return_count = 0", "import os", "is not allowed", "init"),
    ("outcome == 'approve'</bpmn:conditionExpression>", "outcome ==</bpmn:conditionExpression>",
     "is not allowed", "gw_unit"),
    ('name="unit">', 'name="finance_office">', "unknown lane 'finance_office'", "unit_review"),
    ('value="review.schema.json"', 'value="missing.schema.json"', "form 'missing.schema.json' not found",
     "unit_review"),
    ('id="record_credit_hours"', 'id="delete_everything"', "unknown service operation", "record"),
    ('<bpmn:outgoing>f_hr_gw</bpmn:outgoing>', '<bpmn:outgoing>f_nowhere</bpmn:outgoing>',
     "sequence flow 'f_nowhere' does not exist", "hr_review"),
    # a form is a file in forms/, nothing else on the server
    ('value="review.schema.json"', 'value="../processes/x.json"', "must be a file name in forms/", "unit_review"),
    ('value="review.schema.json"', 'value="/etc/x.json"', "must be a file name in forms/", "unit_review"),
    # too deeply nested to parse: refused naming the element, not an error page
    ("lanes['supervisory_department']", "-" * 3000 + "1", "nested too deeply", "gw_supervisory_needed"),
])
def test_a_broken_or_unsafe_diagram_is_rejected_naming_the_element(app, old, new, message, element):
    assert old in SOURCE
    with pytest.raises(engine.ProcessDefinitionError) as exc:
        lint(SOURCE.replace(old, new, 1))
    assert message in str(exc.value)
    assert exc.value.element == element


def test_not_well_formed_xml_is_rejected_with_its_line(app):
    with pytest.raises(engine.ProcessDefinitionError) as exc:
        lint(SOURCE.replace("</bpmn:process>", "", 1))
    assert "not well-formed" in str(exc.value) and exc.value.line


def test_restricted_environment_blocks_escapes_at_runtime():
    env = engine.SafeEnvironment()
    assert env.evaluate("a + 1 > 2 and b['x'] == 'y'", {"a": 2, "b": {"x": "y"}}) is True
    for evil in ("__import__('os')", "a.__class__", "(lambda: 1)()", "[x for x in a]", "2 ** 999999"):
        with pytest.raises((engine.UnsafeExpression, SyntaxError)):
            env.evaluate(evil, {"a": [1]})
    with pytest.raises(engine.UnsafeExpression):
        env.execute("a.b = 1", {"a": 1})


def test_expressions_cannot_build_huge_values():
    """An edited diagram must not stall a request or exhaust memory: each operation's result is bounded,
    while ordinary arithmetic and text work as before."""
    env = engine.SafeEnvironment()
    assert env.evaluate("hours * 2 + 1", {"hours": 12.5}) == 26.0
    assert env.evaluate("name + '（复核）'", {"name": "单位审核"}) == "单位审核（复核）"
    assert env.evaluate("[0] * 3 + [1]", {}) == [0, 0, 0, 1]
    ctx = {"x": 99999999}
    env.execute("y = x * x\ny *= y\nz = y % 7", ctx)
    assert ctx["z"] == (99999999 ** 4) % 7
    for evil, ctx in (("'a' * n", {"n": 1_500_000_000}), ("n * [0]", {"n": 300_000_000}),
                      ("'%09999999d' % 1", {})):
        with pytest.raises(engine.LimitExceeded):
            env.evaluate(evil, ctx)
    squaring = "x = 99999999\n" + "x = x * x\n" * 30
    with pytest.raises(engine.LimitExceeded):
        env.execute(squaring, {})
    doubling = "s = 'ab'\n" + "s += s\n" * 40
    with pytest.raises(engine.LimitExceeded):
        env.execute(doubling, {})


def test_a_diagram_whose_script_builds_a_huge_value_fails_the_start_cleanly(app, declaration, monkeypatch, tmp_path):
    edited = SOURCE.replace("return_count = 0", "return_count = 0\nx = 99999999\n" + "x = x * x\n" * 30, 1)
    (tmp_path / "credit_hour_approval.bpmn").write_text(edited, encoding="utf-8")
    monkeypatch.setattr(versions, "PROCESSES_DIR", tmp_path)
    with pytest.raises(services.ProcessFailed) as exc:
        services.start_process("credit_hour_approval", declaration, actor=actor("chenshihui"))
    db.session.rollback()
    # the applicant gets the generic answer; the detail is for the administrator's log
    assert exc.value.status == 422 and "4096 bits" not in exc.value.message
    assert "4096 bits" in exc.value.detail
    assert db.session.scalar(select(ProcessInstance.id).limit(1)) is None  # nothing half-written


def test_a_changed_file_is_a_new_version_and_running_instances_keep_theirs(app, declaration, monkeypatch,
                                                                            tmp_path):
    first = services.start_process("credit_hour_approval", declaration, actor=actor("chenshihui"))
    db.session.commit()
    # an administrator moves the unit review into the HR bureau's hands by editing the diagram
    edited = SOURCE.replace('<bpmn:userTask id="unit_review" name="单位审核">',
                            '<bpmn:userTask id="unit_review" name="单位审核（新版）">')
    path = tmp_path / "credit_hour_approval.bpmn"
    path.write_text(edited, encoding="utf-8")
    monkeypatch.setattr(versions, "PROCESSES_DIR", tmp_path)
    second = services.start_process("credit_hour_approval", declaration, actor=actor("liuwenbin"))
    db.session.commit()
    rows = db.session.scalars(select(ProcessVersion).where(ProcessVersion.process_key == "credit_hour_approval")
                              .order_by(ProcessVersion.version)).all()
    assert [(v.version, v.active) for v in rows] == [(1, False), (2, True)]
    assert first.process_version_id == rows[0].id and second.process_version_id == rows[1].id
    assert services.open_tasks(first)[0].name == "单位审核"
    assert services.open_tasks(second)[0].name == "单位审核（新版）"
    # the old instance still completes on its own version
    services.complete_task(services.open_tasks(first)[0].id, {"outcome": "approve"},
                           actor=actor("hospital_admin"))
    db.session.commit()
    assert services.open_tasks(first)[0].task_spec == "supervisory_review"


def test_an_edited_file_is_seen_after_the_check_interval(tmp_path, monkeypatch):
    path = tmp_path / "credit_hour_approval.bpmn"
    path.write_text(SOURCE, encoding="utf-8")
    first = versions.bundle_from_file(path)
    path.write_text(SOURCE.replace("单位审核", "单位审核（新版）"), encoding="utf-8")
    assert versions.bundle_from_file(path) is first  # within the interval: no file system look
    monkeypatch.setattr(versions, "FILE_CHECK_SECONDS", 0.0)
    edited = versions.bundle_from_file(path)
    assert edited.content_hash != first.content_hash and "单位审核（新版）" in edited.bpmn_xml
