"""Forms in process administration (issue #17, point 6): a form's JSON Schema and UI schema viewed and edited
with a live preview, checked before saving; a form used by an active process version cannot be deleted.

What is saved is kept in the database over the shipped files (issue #19: PostgreSQL the only shared state), so
every process on every machine reads it, and nothing is written into forms/."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.workflow import forms
from app.workflow.forms import FORMS_DIR

PAGE = "/admin/processes/forms"
NAME = "zz_editor_test"
ROOT = Path(__file__).resolve().parents[1]


def _shipped() -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in FORMS_DIR.iterdir()}


@pytest.fixture(autouse=True)
def files_untouched():
    """Whatever a test saves or deletes in the editor, the shipped files of forms/ stay as they are."""
    before = _shipped()
    yield
    assert _shipped() == before


def _text(app, name: str) -> str | None:
    """The form's text as the platform reads it now (None: there is no such form)."""
    with app.app_context():
        return forms.form_text(name) if forms.form_exists(name) else None


def _preview(web, schema: str, ui: str = "{}"):
    token = web.csrf(f"{PAGE}/review")
    return web.client.post(f"{PAGE}/preview", json={"schema": schema, "ui": ui}, headers={"X-CSRFToken": token})


def test_forms_are_listed_with_the_processes_using_them_and_previewed(app, web):
    web.login("hr_province")
    page = web.client.get(f"{PAGE}/").get_data(as_text=True)
    assert "review.schema.json" in page and "学时申报审核" in page
    editor = web.client.get(f"{PAGE}/review").get_data(as_text=True)
    assert "审核结果" in editor and "启用中的流程在用的表单不能删除" in editor
    schema = _text(app, "review.schema.json")
    body = _preview(web, schema, _text(app, "review.uischema.json")).get_json()
    assert body["errors"] == {} and 'name="outcome"' in body["html"] and "<fieldset disabled" in body["html"]
    # what is wrong, under each text, as you type
    assert "第 1 行" in _preview(web, '{"title": ').get_json()["errors"]["schema"]
    assert "JSON Schema" in _preview(web, '{"type": "object", "properties": {"a": {"type": "nonsense"}}}'
                                     ).get_json()["errors"]["schema"]
    assert "nope" in _preview(web, schema, '{"nope": {}}').get_json()["errors"]["ui"]
    assert "<script>" not in _preview(web, json.dumps({"type": "object", "title": "<script>alert(1)</script>",
                                                       "properties": {}})).get_json()["html"]


def test_a_form_in_use_cannot_be_deleted_and_a_new_one_is_saved_edited_and_deleted(app, web):
    web.login("hr_province")
    before = _text(app, "review.schema.json")
    r = web.post_form(f"{PAGE}/review", {}, post_url=f"{PAGE}/review/delete")
    assert r.status_code == 302
    assert _text(app, "review.schema.json") == before
    assert "不能删除" in web.client.get(f"{PAGE}/review").get_data(as_text=True)

    assert web.client.get(f"{PAGE}/{NAME}?new=1").status_code == 200
    bad = web.post_form(f"{PAGE}/{NAME}?new=1", {"new": "1", "schema": "{", "ui": "{}"}, post_url=f"{PAGE}/{NAME}")
    assert bad.status_code == 422 and _text(app, f"{NAME}.schema.json") is None
    schema = {"title": "测试表单", "type": "object", "properties": {"comment": {"type": "string", "title": "意见"}}}
    r = web.post_form(f"{PAGE}/{NAME}?new=1", {"new": "1", "schema": json.dumps(schema, ensure_ascii=False),
                                                "ui": "{}"}, post_url=f"{PAGE}/{NAME}")
    assert r.status_code == 302
    assert json.loads(_text(app, f"{NAME}.schema.json")) == schema
    again = web.post_form(f"{PAGE}/{NAME}", {"new": "1", "schema": json.dumps(schema), "ui": "{}"},
                          post_url=f"{PAGE}/{NAME}")
    assert again.status_code == 422  # a new form cannot take an existing name
    schema["properties"]["comment"]["maxLength"] = 200
    ui = '{"comment": {"ui:widget": "textarea"}}'
    r = web.post_form(f"{PAGE}/{NAME}", {"schema": json.dumps(schema), "ui": ui}, post_url=f"{PAGE}/{NAME}")
    assert r.status_code == 302
    assert json.loads(_text(app, f"{NAME}.schema.json")) == schema
    assert json.loads(_text(app, f"{NAME}.uischema.json")) == json.loads(ui)
    assert "测试表单" in web.client.get(f"{PAGE}/").get_data(as_text=True)
    r = web.post_form(f"{PAGE}/{NAME}", {}, post_url=f"{PAGE}/{NAME}/delete")
    assert r.status_code == 302 and _text(app, f"{NAME}.schema.json") is None
    assert web.client.get(f"{PAGE}/{NAME}").status_code == 404
    assert "测试表单" not in web.client.get(f"{PAGE}/").get_data(as_text=True)
    assert web.client.get(f"{PAGE}/..%2Fsecrets").status_code == 404


def test_forms_are_for_province_administrators_only(app, web):
    web.login("hospital_admin")
    assert web.client.get(f"{PAGE}/").status_code in (403, 404)
    assert web.client.get(f"{PAGE}/review").status_code in (403, 404)
    r = web.client.post(f"{PAGE}/review/delete", data={"csrf_token": web.csrf("/tasks")})
    assert r.status_code in (403, 404) and _text(app, "review.schema.json") is not None


def test_a_change_that_would_break_a_process_is_refused(app, web):
    """The review form loses its outcome field: the gateways of the processes using it read that field."""
    web.login("hr_province")
    before = _text(app, "review.schema.json")
    schema = json.loads(before)
    del schema["properties"]["outcome"]
    schema["required"] = []
    schema.pop("allOf", None)
    r = web.post_form(f"{PAGE}/review", {"schema": json.dumps(schema, ensure_ascii=False),
                                         "ui": '{"comment": {"ui:widget": "textarea"}}'},
                      post_url=f"{PAGE}/review")
    assert r.status_code == 422
    assert "改动后这些流程无法通过检查" in r.get_data(as_text=True)
    assert _text(app, "review.schema.json") == before


def test_editing_a_form_keeps_the_administrators_diagram_active(app, web):
    """A diagram an administrator deployed stays the one new cases use when a form it uses is edited: it is
    deployed again with the changed form, instead of the shipped file taking its place."""
    from app.extensions import db
    from app.workflow import versions

    path, _forms = versions.bpmn_path("credit_hour_approval")
    with app.app_context():
        admin_xml = path.read_text(encoding="utf-8") + "\n<!-- changed by an administrator -->\n"
        versions.upload(admin_xml, expected_key="credit_hour_approval")
        db.session.commit()
    web.login("hr_province")
    schema = json.loads(_text(app, "review.schema.json"))
    schema["properties"]["comment"]["maxLength"] = 321
    r = web.post_form(f"{PAGE}/review", {"schema": json.dumps(schema, ensure_ascii=False),
                                         "ui": _text(app, "review.uischema.json")},
                      post_url=f"{PAGE}/review")
    assert r.status_code == 302
    with app.app_context():
        current = versions.current_version("credit_hour_approval")
        assert current.bpmn_xml == admin_xml
        assert current.forms["review.schema.json"]["properties"]["comment"]["maxLength"] == 321


def test_a_picker_may_only_read_from_the_platforms_people_lists(app, web):
    web.login("hr_province")
    schema = {"title": "测试表单", "type": "object", "properties": {"who": {"type": "string", "title": "人员"}}}
    r = web.post_form(f"{PAGE}/{NAME}?new=1", {
        "new": "1", "schema": json.dumps(schema, ensure_ascii=False),
        "ui": '{"who": {"ui:widget": "person-search", "ui:source": "accounts.logout"}}'}, post_url=f"{PAGE}/{NAME}")
    assert r.status_code == 422 and "ui:source" in r.get_data(as_text=True)
    assert _text(app, f"{NAME}.schema.json") is None


def test_a_form_extending_itself_or_in_a_circle_is_refused_and_the_editor_stays_usable(app, web):
    """A careless edit (x-extends naming the form itself, or a base that extends it back) is refused with a
    reason rather than saved: saved, every later read of the form recursed until the process crashed."""
    web.login("hr_province")
    schema = {"title": "测试表单", "type": "object", "properties": {"comment": {"type": "string"}}}
    r = web.post_form(f"{PAGE}/{NAME}?new=1", {"new": "1", "schema": json.dumps(schema), "ui": "{}"},
                      post_url=f"{PAGE}/{NAME}")
    assert r.status_code == 302
    looped = {**schema, "x-extends": f"{NAME}.schema.json"}
    r = web.post_form(f"{PAGE}/{NAME}", {"schema": json.dumps(looped), "ui": "{}"}, post_url=f"{PAGE}/{NAME}")
    assert r.status_code == 422 and "x-extends" in r.get_data(as_text=True)
    assert "x-extends" not in json.loads(_text(app, f"{NAME}.schema.json"))
    bad_when = {**schema, "x-extends": "review.schema.json", "x-extends-when": ["not", "an", "object"]}
    r = web.post_form(f"{PAGE}/{NAME}", {"schema": json.dumps(bad_when), "ui": "{}"}, post_url=f"{PAGE}/{NAME}")
    assert r.status_code == 422
    assert web.client.get(f"{PAGE}/").status_code == 200
    assert web.client.get(f"{PAGE}/{NAME}").status_code == 200


def test_a_deeply_nested_or_huge_form_text_is_refused_with_a_reason(app, web):
    """A pasted text nested a hundred thousand levels deep made json.loads (or the schema check) recurse
    beyond Python's limit: the preview and the save answered 500 instead of saying what is wrong."""
    web.login("hr_province")
    deep = "[" * 100_000 + "]" * 100_000
    body = _preview(web, deep).get_json()
    assert body["errors"]["schema"]
    nested = '{"type": "object", "properties": {"a": ' + '{"items": ' * 5000 + "{}" + "}" * 5000 + "}}"
    assert _preview(web, nested).get_json()["errors"]["schema"]
    assert _preview(web, '{"type": "object", "properties": {}}', deep).get_json()["errors"]["ui"]


READ_ELSEWHERE = """
import json
from wsgi import app
from app.workflow import forms, versions
with app.app_context():
    current = versions.current_version("credit_hour_approval")
    print(json.dumps({"form": json.loads(forms.form_text("review.schema.json")), "version": current.version,
                      "forms": current.forms["review.schema.json"],
                      "scratch": forms.form_exists("zz_editor_test.schema.json")}))
"""


def _read_elsewhere(pg_app) -> dict:
    """What another process of the platform (another worker, another machine) reads from the same database."""
    env = {**os.environ, "DATABASE_URL": pg_app.config["SQLALCHEMY_DATABASE_URI"]}
    env.pop("REDIS_URL", None)
    done = subprocess.run([sys.executable, "-c", READ_ELSEWHERE], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_an_edit_is_kept_in_the_database_and_every_process_reads_it(pg_app, as_user):
    """A form saved on one machine is what every other process reads and starts cases with: nothing is written
    into that machine's forms/ (which a rebuild would lose and the other machines would not have); a new form
    deleted is gone everywhere."""
    from app.extensions import db
    from app.processes_admin import services
    from app.workflow import versions

    admin = as_user("hr_province")
    schema = json.loads(forms.form_text("review.schema.json"))
    schema["properties"]["comment"]["maxLength"] = 123
    services.save_form(admin, "review", json.dumps(schema, ensure_ascii=False), forms.form_text("review.uischema.json"))
    services.save_form(admin, NAME, json.dumps({"type": "object", "properties": {"a": {"type": "string"}}}), "{}",
                       new=True)
    db.session.commit()
    made = versions.current_version("credit_hour_approval").version

    seen = _read_elsewhere(pg_app)
    assert seen["form"]["properties"]["comment"]["maxLength"] == 123
    assert seen["forms"]["properties"]["comment"]["maxLength"] == 123
    assert seen["version"] == made  # the version the save made, not one more
    assert seen["scratch"] is True

    services.delete_form(admin, NAME)
    db.session.commit()
    assert _read_elsewhere(pg_app)["scratch"] is False


def _copy_form(app, admin, source: str) -> None:
    """A new form NAME with the fields of ``source``, saved through the editor's service."""
    from app.processes_admin import services

    services.save_form(admin, NAME, _text(app, f"{source}.schema.json"), _text(app, f"{source}.uischema.json"),
                       new=True)


def _upload_with(app, *sources: str) -> str:
    """The credit-hour chain deployed as an administrator's diagram whose tasks use NAME instead of ``sources``."""
    from app.extensions import db
    from app.workflow import versions

    xml = versions.bpmn_path("credit_hour_approval")[0].read_text(encoding="utf-8")
    for source in sources:
        xml = xml.replace(f'"{source}.schema.json"', f'"{NAME}.schema.json"').replace(
            f'"{source}.uischema.json"', f'"{NAME}.uischema.json"')
    versions.upload(xml, expected_key="credit_hour_approval")
    db.session.commit()
    return xml


def test_a_change_that_would_break_an_administrators_diagram_is_refused_not_a_server_error(app, as_user):
    """The checks cover the diagram an administrator deployed, not only the shipped files: a form only that
    diagram uses (for every review step) loses the outcome its gateways read; and a form only the shipped diagram
    behind it names cannot be deleted (the shipped file could no longer become a version)."""
    from app.core.errors import InvalidState, ValidationFailed
    from app.extensions import db
    from app.processes_admin import services
    from app.workflow import versions

    admin = as_user("hr_province")
    _copy_form(app, admin, "hr_review")
    db.session.commit()
    xml = _upload_with(app, "review", "hr_review")
    schema = json.loads(_text(app, f"{NAME}.schema.json"))
    schema.pop("x-extends", None)
    schema["properties"] = {"comment": {"type": "string"}}
    schema.pop("required", None)
    schema.pop("allOf", None)
    with pytest.raises(ValidationFailed) as refused:
        services.save_form(admin, NAME, json.dumps(schema), "{}")
    assert "改动后这些流程无法通过检查" in refused.value.fields["schema"]
    db.session.rollback()
    assert versions.current_version("credit_hour_approval").bpmn_xml == xml

    assert services.forms_in_use().get("hr_review") is None  # the active version does not use it
    with pytest.raises(InvalidState):
        services.delete_form(admin, "hr_review")
    db.session.rollback()
    assert _text(app, "hr_review.schema.json") is not None


def test_a_save_rolled_back_is_never_read(app, as_user):
    """What a save wrote before it failed is not served from any cache afterwards (another thread of the same
    process may read the forms while the save is under way)."""
    from app.extensions import db
    from app.workflow.models import FormEdit

    changes = {f"{NAME}.schema.json": '{"type": "object", "properties": {}}\n'}
    db.session.add(FormEdit(name=f"{NAME}.schema.json", text=changes[f"{NAME}.schema.json"], revision=1))
    db.session.flush()
    forms.forget_edits()
    with forms.pending(changes):
        assert forms.form_exists(f"{NAME}.schema.json")
    db.session.rollback()
    assert not forms.form_exists(f"{NAME}.schema.json")


def test_the_api_document_follows_an_edited_form(app, client, as_user):
    from app.extensions import db
    from app.processes_admin import services

    def declared() -> dict:
        return client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]["CreditHourDeclaration"]

    assert declared()["properties"]["course_name"].get("maxLength") != 77
    schema = json.loads(_text(app, "credit_hour_declaration.schema.json"))
    schema["properties"]["course_name"]["maxLength"] = 77
    services.save_form(as_user("hr_province"), "credit_hour_declaration", json.dumps(schema, ensure_ascii=False),
                       _text(app, "credit_hour_declaration.uischema.json"))
    db.session.commit()
    assert declared()["properties"]["course_name"]["maxLength"] == 77


def test_processes_check_needs_no_database_migrated(tmp_path):
    """`flask processes check` lints the shipped diagrams before any `db upgrade` (a build step, CI)."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}"}
    env.pop("REDIS_URL", None)
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "processes", "check"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
