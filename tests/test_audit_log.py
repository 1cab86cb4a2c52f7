"""The audit log (issue #20): decisions, sign-ins, permission changes, deployments and exports each leave an
entry in the same transaction; entries cannot be changed or deleted; administrators read those of their scope."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError

from app.accounts.models import Organisation
from app.audit.models import AuditEntry
from app.audit.services import record
from app.certificates import batch
from app.core.models import utcnow
from app.extensions import db
from app.people.models import Person
from app.taskcentre import files
from app.taskcentre.models import FINISHED, BackgroundJob
from app.workflow import services, versions
from tests.conftest import actor, api_token
from tests.registration_helpers import PASSWORD, PNG, employer_unit

KEY = "credit_hour_approval"


def entries(action: str | None = None) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id)
    if action:
        query = query.where(AuditEntry.action == action)
    return list(db.session.scalars(query))


def org_id(name: str) -> int:
    return db.session.scalar(select(Organisation.id).where(Organisation.name == name))


def started(declaration: dict) -> tuple:
    instance = services.start_process(KEY, declaration, actor=actor("chenshihui"))
    db.session.commit()
    return instance, services.open_tasks(instance)[0]


# --------------------------------------------------------------------------- what leaves an entry


def test_a_decision_leaves_an_entry_in_its_own_transaction(app, client, declaration):
    instance, task = started(declaration)
    headers = api_token(client, "hospital_admin")
    # a refused decision (a return needs a comment) leaves nothing
    r = client.post(f"/api/v1/tasks/{task.id}/complete", json={"outcome": "return"}, headers=headers)
    assert r.status_code == 422 and entries("task.complete") == []
    r = client.post(f"/api/v1/tasks/{task.id}/complete", json={"outcome": "approve"}, headers=headers)
    assert r.status_code == 200
    [entry] = entries("task.complete")
    assert (entry.actor_login, entry.object_type, entry.object_id) == ("hospital_admin", "workflow_task", task.id)
    assert entry.organisation_id == org_id("市第一人民医院") and entry.client_address == "127.0.0.1"
    assert entry.details == {"process": KEY, "instance_id": instance.id, "step": "unit_review", "outcome": "approve"}


def test_withdrawing_a_case_is_recorded(app, client, declaration):
    instance, _ = started(declaration)
    r = client.post(f"/api/v1/instances/{instance.id}/withdraw", headers=api_token(client, "chenshihui"))
    assert r.status_code == 200, r.get_json()
    [entry] = entries("case.withdraw")
    assert (entry.actor_login, entry.object_type, entry.object_id) == ("chenshihui", "process_instance",
                                                                       str(instance.id))
    assert entry.organisation_id == org_id("市第一人民医院")


def test_a_batch_review_leaves_an_entry_per_decision_that_went_through(app, client, declaration):
    _, first = started(declaration)
    _, second = started({**declaration, "course_name": "第二门课"})
    services.complete_task(second.id, {"outcome": "approve"}, actor=actor("hospital_admin"))
    db.session.commit()
    r = client.post("/api/v1/tasks/complete", json={"task_ids": [first.id, second.id], "outcome": "approve"},
                    headers=api_token(client, "hospital_admin"))
    assert [f["id"] for f in r.get_json()["failed"]] == [second.id]
    assert sorted(e.object_id for e in entries("task.complete")) == sorted([first.id, second.id])


def test_sign_ins_and_failures_are_recorded(app, client, web):
    assert web.login("hospital_admin").status_code == 302
    assert client.post("/api/v1/auth/token", json={"login": "chenshihui", "password": "Wrong1234"}).status_code == 401
    assert client.post("/api/v1/auth/token", json={"login": "nobody", "password": "Wrong1234"}).status_code == 401
    signed_in = entries("auth.sign_in")
    assert [e.actor_login for e in signed_in] == ["hospital_admin"]
    assert signed_in[0].organisation_id == org_id("市第一人民医院")
    failed = entries("auth.sign_in_failed")
    assert [(e.actor_login, e.actor_user_id is not None, e.details["reason"]) for e in failed] == [
        ("chenshihui", True, "wrong_password"), ("nobody", False, "unknown_login")]
    assert failed[1].organisation_id is None


def test_a_failed_sign_in_is_kept_when_the_request_rolls_back(app, client):
    """Registering an organisation with an existing account checks its password; a wrong one refuses the
    whole registration (rolled back), but the failed sign-in stays in the log."""
    data = employer_unit(admin_mode="existing", admin_login="110101199003072711", admin_password="Wrong1234")
    data["licence"] = {"filename": "licence.png", "content_base64": __import__("base64").b64encode(PNG).decode()}
    r = client.post("/api/v1/registrations/organisation", json=data)
    assert r.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Organisation)
                             .where(Organisation.name == data["name"])) == 0
    [entry] = entries("auth.sign_in_failed")
    assert entry.actor_login == "chenshihui" and entry.details["reason"] == "wrong_password"


def test_a_wrong_password_typed_to_change_it_is_recorded(app, web):
    web.login("chenshihui")
    r = web.post_form("/password/change", {"old_password": "Wrong1234", "password": PASSWORD,
                                           "password_confirm": PASSWORD})
    assert r.status_code == 422
    [entry] = entries("auth.password_failed")
    assert entry.actor_login == "chenshihui"


def test_permission_and_role_changes_are_recorded(app, client):
    admin = api_token(client, "hospital_admin")
    hospital = org_id("市第一人民医院")
    role = client.post(f"/api/v1/org/roles?org_id={hospital}", json={"name": "审核员", "modules": ["credit_review"]},
                       headers=admin).get_json()
    client.patch(f"/api/v1/org/roles/{role['id']}", json={"modules": ["credit_review", "people"]}, headers=admin)
    liu = db.session.scalar(select(Person.user_id).where(Person.id_number == "321101198110166954"))
    added = client.post(f"/api/v1/org/admins?org_id={hospital}",
                        json={"way": "member", "user_id": liu, "role_id": role["id"]}, headers=admin)
    assert added.status_code == 201, added.get_json()
    client.put(f"/api/v1/org/admins/{added.get_json()['membership_id']}/role", json={"role_id": None}, headers=admin)
    r = client.post(f"/api/v1/org/subordinates/{hospital}/review", json={"enabled": False},
                    headers=api_token(client, "health_admin"))
    assert r.status_code == 200
    rows = [(e.action, e.actor_login, e.organisation_id) for e in entries()
            if e.action.startswith(("role.", "admin.", "org."))]
    assert rows == [("role.create", "hospital_admin", hospital), ("role.update", "hospital_admin", hospital),
                    ("admin.add", "hospital_admin", hospital), ("admin.assign_role", "hospital_admin", hospital),
                    ("org.review_off", "health_admin", hospital)]
    assert entries("role.update")[0].details["modules"] == ["credit_review", "people"]
    added_details = entries("admin.add")[0].details
    assert (added_details["login"], added_details["way"], added_details["modules"]) == (
        "liuwenbin", "member", ["credit_review", "people"])


def test_a_diagram_deployment_is_recorded(app, web):
    web.login("hr_province")
    source = (versions.PROCESSES_DIR / f"{KEY}.bpmn").read_text(encoding="utf-8")
    edited = source.replace("lanes['supervisory_department']", "False")
    r = web.post_form(f"/admin/processes/{KEY}", {"file": (io.BytesIO(edited.encode()), "edited.bpmn")},
                      content_type="multipart/form-data")
    assert r.status_code == 302
    [entry] = [e for e in entries("process.deploy") if e.actor_login == "hr_province"]
    assert entry.object_type == "process_version" and entry.details["process"] == KEY
    assert entry.details["source"] == "upload" and entry.organisation_id == org_id("省人力资源和社会保障厅")


def test_exports_are_recorded_and_a_download_without_a_commit_too(app, client, tmp_path):
    app.config["JOBS_DIR"] = str(tmp_path)
    try:
        hospital_admin = actor("hospital_admin")
        chen = db.session.scalar(select(Person.id).where(Person.id_number == "110101199003072711"))
        job = batch.start_batch(hospital_admin, [chen], 2025, "http://localhost")
        db.session.commit()
        files.store("1-result.zip", io.BytesIO(b"PK"))
        db.session.execute(update(BackgroundJob).where(BackgroundJob.id == job.id)
                           .values(status=FINISHED, result_path="1-result.zip", result_name="证书.zip"))
        db.session.commit()
        r = client.get(f"/api/v1/jobs/{job.id}/download", headers=api_token(client, "hospital_admin"))
        assert r.status_code == 200
        r.close()
        db.session.rollback()  # what the request did not commit is gone
    finally:
        app.config.pop("JOBS_DIR")
    [export] = entries("export.certificate_batch")
    assert export.details == {"year": 2025, "people": 1} and export.object_id == str(job.id)
    [download] = entries("export.download")
    assert download.actor_login == "hospital_admin" and download.details["file"] == "证书.zip"


# --------------------------------------------------------------------------- append-only


def test_the_application_cannot_change_or_delete_an_entry(app):
    record("auth.sign_in", actor=actor("chenshihui"))
    db.session.commit()
    entry = entries()[-1]
    entry.action = "auth.sign_in_failed"
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.flush()
    db.session.rollback()
    db.session.delete(entries()[-1])
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.flush()
    db.session.rollback()


def test_postgresql_refuses_update_and_delete_of_an_entry(pg_app):
    record("auth.sign_in", actor=actor("chenshihui"))
    db.session.commit()
    for statement in ("UPDATE audit_entry SET action = 'x'", "DELETE FROM audit_entry"):
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text(statement))
        db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "auth.sign_in")) == 1


# --------------------------------------------------------------------------- reading it


def _spread() -> None:
    """A sign-in in each of three places of the tree, and a failed one of no organisation."""
    for login in ("hospital_admin", "health_admin", "tech_admin"):
        record("auth.sign_in", actor=actor(login))
    record("auth.sign_in_failed", actor=None, login="nobody", details={"reason": "unknown_login"})
    db.session.commit()


def _seen_by(client, login: str) -> set[str | None]:
    r = client.get("/api/v1/audit?action=auth", headers=api_token(client, login))
    assert r.status_code == 200, r.get_json()
    return {item["actor"]["login"] for item in r.get_json()["items"]}


def test_administrators_read_their_scope_and_the_province_reads_everything(app, client):
    _spread()
    # the hospital sees itself; the health commission also the hospital below it; the province every entry
    assert _seen_by(client, "hospital_admin") == {"hospital_admin"}
    assert _seen_by(client, "health_admin") == {"hospital_admin", "health_admin"}
    assert _seen_by(client, "hr_province") == {"nobody", "tech_admin", "health_admin", "hospital_admin",
                                               "hr_province"}
    # not an administrator: the log does not exist
    assert client.get("/api/v1/audit", headers=api_token(client, "chenshihui")).status_code == 404


def test_filters_and_pages_newest_first(app, client):
    _spread()
    headers = api_token(client, "hr_province")
    first = client.get("/api/v1/audit?action=auth&per_page=2", headers=headers).get_json()
    assert [i["id"] for i in first["items"]] == sorted((i["id"] for i in first["items"]), reverse=True)
    second = client.get(f"/api/v1/audit?action=auth&per_page=2&before={first['next_before']}",
                        headers=headers).get_json()
    assert first["items"][-1]["id"] > second["items"][0]["id"]
    failed = client.get("/api/v1/audit?action=auth.sign_in_failed", headers=headers).get_json()["items"]
    assert [(i["actor"]["login"], i["details"]) for i in failed] == [("nobody", {"reason": "unknown_login"})]
    assert [i["actor"]["login"] for i in client.get("/api/v1/audit?actor=tech_admin",
                                                    headers=headers).get_json()["items"]] == ["tech_admin"]
    today = (utcnow() + timedelta(hours=8)).date()
    assert client.get(f"/api/v1/audit?date_from={today}&date_to={today}&actor=tech_admin",
                      headers=headers).get_json()["items"]
    assert not client.get(f"/api/v1/audit?date_to={today - timedelta(days=1)}&actor=tech_admin",
                          headers=headers).get_json()["items"]
    r = client.get("/api/v1/audit?date_from=2026-13-01&action=nothing", headers=headers)
    assert r.status_code == 422 and set(r.get_json()["error"]["fields"]) == {"date_from", "action"}


def test_filter_by_object(app, client, declaration):
    _, task = started(declaration)
    services.complete_task(task.id, {"outcome": "approve"}, actor=actor("hospital_admin"))
    db.session.commit()
    items = client.get(f"/api/v1/audit?object_type=workflow_task&object_id={task.id}",
                       headers=api_token(client, "health_admin")).get_json()["items"]
    assert [(i["action"], i["object"]) for i in items] == [("task.complete", {"type": "workflow_task", "id": task.id})]


def test_the_audit_page_in_chinese_and_english(app, web, declaration):
    _, task = started(declaration)
    services.complete_task(task.id, {"outcome": "approve"}, actor=actor("hospital_admin"))
    db.session.commit()
    web.login("hospital_admin")
    home = web.client.get("/tasks").get_data(as_text=True)
    assert 'href="/audit"' in home
    page = web.client.get("/audit?action=task.complete").get_data(as_text=True)
    assert "审计日志" in page and "审批办理" in page and "hospital_admin" in page
    english = web.client.get("/audit?action=task.complete&lang=en").get_data(as_text=True)
    assert "Audit log" in english and "Task decided" in english
    bad = web.client.get("/audit?date_from=yesterday")
    assert bad.status_code == 422


def test_the_audit_page_is_not_there_for_others(app, web):
    web.login("chenshihui")
    assert 'href="/audit"' not in web.client.get("/applications").get_data(as_text=True)
    assert web.client.get("/audit").status_code == 404


def test_the_openapi_document_describes_the_audit_log(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert "/audit" in doc["paths"] and "AuditEntry" in doc["components"]["schemas"]
    assert {p["name"] for p in doc["paths"]["/audit"]["get"]["parameters"]} >= {
        "action", "actor", "date_from", "date_to", "object_type", "object_id", "before"}
