"""Forms in process administration (issue #17, point 6): a form's JSON Schema and UI schema viewed and edited
with a live preview, checked before saving; a form used by an active process version cannot be deleted."""

from __future__ import annotations

import json

import pytest

from app.workflow.forms import FORMS_DIR

PAGE = "/admin/processes/forms"
NAME = "zz_editor_test"


@pytest.fixture
def scratch():
    """A form made by the test in forms/, removed afterwards whatever happens."""
    yield NAME
    for suffix in (".schema.json", ".uischema.json"):
        (FORMS_DIR / f"{NAME}{suffix}").unlink(missing_ok=True)


def _preview(web, schema: str, ui: str = "{}"):
    token = web.csrf(f"{PAGE}/review")
    return web.client.post(f"{PAGE}/preview", json={"schema": schema, "ui": ui}, headers={"X-CSRFToken": token})


def test_forms_are_listed_with_the_processes_using_them_and_previewed(app, web):
    web.login("hr_province")
    page = web.client.get(f"{PAGE}/").get_data(as_text=True)
    assert "review.schema.json" in page and "学时申报审核" in page
    editor = web.client.get(f"{PAGE}/review").get_data(as_text=True)
    assert "审核结果" in editor and "启用中的流程在用的表单不能删除" in editor
    schema = (FORMS_DIR / "review.schema.json").read_text(encoding="utf-8")
    body = _preview(web, schema, (FORMS_DIR / "review.uischema.json").read_text(encoding="utf-8")).get_json()
    assert body["errors"] == {} and 'name="outcome"' in body["html"] and "<fieldset disabled" in body["html"]
    # what is wrong, under each text, as you type
    assert "第 1 行" in _preview(web, '{"title": ').get_json()["errors"]["schema"]
    assert "JSON Schema" in _preview(web, '{"type": "object", "properties": {"a": {"type": "nonsense"}}}'
                                     ).get_json()["errors"]["schema"]
    assert "nope" in _preview(web, schema, '{"nope": {}}').get_json()["errors"]["ui"]
    assert "<script>" not in _preview(web, json.dumps({"type": "object", "title": "<script>alert(1)</script>",
                                                       "properties": {}})).get_json()["html"]


def test_a_form_in_use_cannot_be_deleted_and_a_new_one_is_saved_edited_and_deleted(app, web, scratch, review_kept):
    web.login("hr_province")
    before = (FORMS_DIR / "review.schema.json").read_text(encoding="utf-8")
    r = web.post_form(f"{PAGE}/review", {}, post_url=f"{PAGE}/review/delete")
    assert r.status_code == 302
    assert (FORMS_DIR / "review.schema.json").read_text(encoding="utf-8") == before
    assert "不能删除" in web.client.get(f"{PAGE}/review").get_data(as_text=True)

    assert web.client.get(f"{PAGE}/{scratch}?new=1").status_code == 200
    bad = web.post_form(f"{PAGE}/{scratch}?new=1", {"new": "1", "schema": "{", "ui": "{}"},
                        post_url=f"{PAGE}/{scratch}")
    assert bad.status_code == 422 and not (FORMS_DIR / f"{scratch}.schema.json").exists()
    schema = {"title": "测试表单", "type": "object", "properties": {"comment": {"type": "string", "title": "意见"}}}
    r = web.post_form(f"{PAGE}/{scratch}?new=1", {"new": "1", "schema": json.dumps(schema, ensure_ascii=False),
                                                   "ui": "{}"}, post_url=f"{PAGE}/{scratch}")
    assert r.status_code == 302
    assert json.loads((FORMS_DIR / f"{scratch}.schema.json").read_text(encoding="utf-8")) == schema
    again = web.post_form(f"{PAGE}/{scratch}", {"new": "1", "schema": json.dumps(schema), "ui": "{}"},
                          post_url=f"{PAGE}/{scratch}")
    assert again.status_code == 422  # a new form cannot take an existing name
    schema["properties"]["comment"]["maxLength"] = 200
    ui = '{"comment": {"ui:widget": "textarea"}}'
    r = web.post_form(f"{PAGE}/{scratch}", {"schema": json.dumps(schema), "ui": ui}, post_url=f"{PAGE}/{scratch}")
    assert r.status_code == 302
    assert "测试表单" in web.client.get(f"{PAGE}/").get_data(as_text=True)
    r = web.post_form(f"{PAGE}/{scratch}", {}, post_url=f"{PAGE}/{scratch}/delete")
    assert r.status_code == 302 and not (FORMS_DIR / f"{scratch}.schema.json").exists()
    assert web.client.get(f"{PAGE}/{scratch}").status_code == 404
    assert web.client.get(f"{PAGE}/..%2Fsecrets").status_code == 404


def test_forms_are_for_province_administrators_only(app, web):
    web.login("hospital_admin")
    assert web.client.get(f"{PAGE}/").status_code in (403, 404)
    assert web.client.get(f"{PAGE}/review").status_code in (403, 404)
    r = web.client.post(f"{PAGE}/review/delete", data={"csrf_token": web.csrf("/tasks")})
    assert r.status_code in (403, 404) and (FORMS_DIR / "review.schema.json").exists()


@pytest.fixture
def review_kept():
    """The shipped review form as it was, put back whatever the test did."""
    kept = {s: (FORMS_DIR / f"review{s}").read_text(encoding="utf-8") for s in (".schema.json", ".uischema.json")}
    yield
    for suffix, text in kept.items():
        if (FORMS_DIR / f"review{suffix}").read_text(encoding="utf-8") != text:
            (FORMS_DIR / f"review{suffix}").write_text(text, encoding="utf-8")


def test_a_change_that_would_break_a_process_is_refused(app, web, review_kept):
    """The review form loses its outcome field: the gateways of the processes using it read that field."""
    web.login("hr_province")
    schema = json.loads((FORMS_DIR / "review.schema.json").read_text(encoding="utf-8"))
    before = (FORMS_DIR / "review.schema.json").read_text(encoding="utf-8")
    del schema["properties"]["outcome"]
    schema["required"] = []
    schema.pop("allOf", None)
    r = web.post_form(f"{PAGE}/review", {"schema": json.dumps(schema, ensure_ascii=False),
                                         "ui": '{"comment": {"ui:widget": "textarea"}}'},
                      post_url=f"{PAGE}/review")
    assert r.status_code == 422
    assert "改动后这些流程无法通过检查" in r.get_data(as_text=True)
    assert (FORMS_DIR / "review.schema.json").read_text(encoding="utf-8") == before


def test_editing_a_form_keeps_the_administrators_diagram_active(app, web, review_kept):
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
    schema = json.loads((FORMS_DIR / "review.schema.json").read_text(encoding="utf-8"))
    schema["properties"]["comment"]["maxLength"] = 321
    r = web.post_form(f"{PAGE}/review", {"schema": json.dumps(schema, ensure_ascii=False),
                                         "ui": (FORMS_DIR / "review.uischema.json").read_text(encoding="utf-8")},
                      post_url=f"{PAGE}/review")
    assert r.status_code == 302
    with app.app_context():
        current = versions.current_version("credit_hour_approval")
        assert current.bpmn_xml == admin_xml
        assert current.forms["review.schema.json"]["properties"]["comment"]["maxLength"] == 321


def test_a_picker_may_only_read_from_the_platforms_people_lists(app, web, scratch):
    web.login("hr_province")
    schema = {"title": "测试表单", "type": "object", "properties": {"who": {"type": "string", "title": "人员"}}}
    r = web.post_form(f"{PAGE}/{scratch}?new=1", {
        "new": "1", "schema": json.dumps(schema, ensure_ascii=False),
        "ui": '{"who": {"ui:widget": "person-search", "ui:source": "accounts.logout"}}'}, post_url=f"{PAGE}/{scratch}")
    assert r.status_code == 422 and "ui:source" in r.get_data(as_text=True)
    assert not (FORMS_DIR / f"{scratch}.schema.json").exists()


def test_a_form_extending_itself_or_in_a_circle_is_refused_and_the_editor_stays_usable(app, web, scratch):
    """A careless edit (x-extends naming the form itself, or a base that extends it back) is refused with a
    reason rather than saved: saved, every later read of the form recursed until the process crashed."""
    web.login("hr_province")
    schema = {"title": "测试表单", "type": "object", "properties": {"comment": {"type": "string"}}}
    r = web.post_form(f"{PAGE}/{scratch}?new=1", {"new": "1", "schema": json.dumps(schema), "ui": "{}"},
                      post_url=f"{PAGE}/{scratch}")
    assert r.status_code == 302
    looped = {**schema, "x-extends": f"{scratch}.schema.json"}
    r = web.post_form(f"{PAGE}/{scratch}", {"schema": json.dumps(looped), "ui": "{}"}, post_url=f"{PAGE}/{scratch}")
    assert r.status_code == 422 and "x-extends" in r.get_data(as_text=True)
    assert "x-extends" not in json.loads((FORMS_DIR / f"{scratch}.schema.json").read_text(encoding="utf-8"))
    bad_when = {**schema, "x-extends": "review.schema.json", "x-extends-when": ["not", "an", "object"]}
    r = web.post_form(f"{PAGE}/{scratch}", {"schema": json.dumps(bad_when), "ui": "{}"}, post_url=f"{PAGE}/{scratch}")
    assert r.status_code == 422
    assert web.client.get(f"{PAGE}/").status_code == 200
    assert web.client.get(f"{PAGE}/{scratch}").status_code == 200


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
