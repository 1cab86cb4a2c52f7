"""English UI: the whole catalogue is translated, and the newer pages (registration, organisation
administration, training archive) show English labels and messages with ?lang=en while their data
(names, organisations) and the JSON API stay as they are."""

from __future__ import annotations

import importlib.util
import re
from decimal import Decimal
from pathlib import Path
from types import ModuleType

from sqlalchemy import select

from app.accounts.models import Organisation
from app.archive.models import CreditRecord
from app.extensions import db
from app.people.models import Person
from tests.conftest import api_token, not_passed
from tests.webutil import browser, field_error, text

ROOT = Path(__file__).resolve().parents[1]
CJK = re.compile(r"[\u3400-\u9fff]+")


def i18n_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("i18n_script", ROOT / "scripts" / "i18n.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def chinese_left(page: str, data: set[str]) -> set[str]:
    """Runs of Chinese on a page that are not data (names, organisations) or the language switch."""
    return set(CJK.findall(page)) - data - {"中文"}


def test_every_string_of_every_page_has_an_english_translation(capsys):
    """``scripts/i18n.py --check``: every _() string of the views and templates, every label of the
    forms, processes and decisions and every message a page shows through ``|tr`` is translated,
    with the same %(name)s placeholders. (Run ``scripts/i18n.py``, then translate what
    ``--untranslated en`` lists and write it back with ``--apply en``.)"""
    module = i18n_script()
    catalogue = {m.id for m in module.template() if m.id}
    # strings of the newer pages and of the services' messages are in the catalogue
    assert {"本单位管理员", "第一步：单位名称与证照", "学时预检", "请填写真实姓名", "机构不存在或您无权管理",
            "总学时还差%(need)s学时（已计入%(done)s学时，要求不少于%(min)s学时）",
            "每年不少于90学时，其中专业科目不少于三分之二", "机关", "正高级"} <= catalogue
    assert module.main(["--check"]) == 0, capsys.readouterr().out
    assert module.placeholders_differ("还差%(n)s学时", "%(m)s hours short")
    assert not module.placeholders_differ("%(a)s：%(b)s", "%(b)s: %(a)s")


def test_registration_pages_in_english(app):
    web = browser(app)
    page = text(web.client.get("/register?lang=en"))
    assert "Register as a professional" in page and "Full name" in page and "ID number" in page
    assert "SMS verification code" in page and "Already have an account? Sign in" in page
    orgs = set(db.session.scalars(select(Organisation.name)))
    assert chinese_left(page, orgs) == set()
    r = web.post_form("/register", {"name": "", "id_number": "", "login": "9x"})
    assert r.status_code == 422
    assert field_error(r, "name") == "Enter your full name"
    assert field_error(r, "login") == "User names must be 4-32 letters, digits or underscores, starting with a letter"
    page = text(web.client.get("/register/organisation"))  # the language stays chosen
    assert "Step 1: Name and licence" in page and "Unified social credit code (USCC)" in page
    assert "Government agency" in page and "Provincial" in page and "Scientific research" in page
    assert chinese_left(page, orgs) == set()
    # the JSON API keeps answering in Chinese for the same browser
    r = web.client.post("/api/v1/registrations/code", json=[])
    assert r.status_code == 400 and r.get_json()["error"]["message"] == "请求体必须是 JSON 对象"


def test_organisation_admin_page_in_english(app):
    web = browser(app)
    web.client.get("/login?lang=en")
    web.login("hospital_admin")
    page = text(web.client.get("/org/admins"))
    data = {"市一医院管理员", "市第一人民医院", "刘文斌", "陈诗慧", "学时审核员", "人事专员"}
    assert chinese_left(page, data) == set()
    assert "Organisation: 市第一人民医院" in page
    assert "Administrators of this unit" in page and "Add administrator" in page
    assert "b) Register a new administrator (not yet a platform user)" in page
    r = web.post_form("/org/admins", {"way": "register", "name": "", "id_number": "350102199201010011",
                                      "login": "", "password": "Kejiao2026"}, post_url="/org/admins/add")
    assert r.status_code == 422
    page = text(r)
    assert "Enter a login name" in page and "Enter the name" in page
    assert "The check character of the ID number is wrong" in page
    assert chinese_left(page, data) == set()


def test_archive_page_in_english_translates_the_stored_sentences(app):
    chen = db.session.scalar(select(Person).where(Person.id_number == "110101199003072711"))
    db.session.add(CreditRecord(person_id=chen.id, year=2026, subject_type="professional", course_name="Course 1",
                                declared_hours=Decimal(24), recognised_hours=Decimal(24), days=Decimal(3),
                                source="class", source_id=1))
    db.session.commit()
    web = browser(app)
    web.client.get("/login?lang=en")
    web.login("chenshihui")
    page = text(web.client.get("/archive?year=2026"))
    unfinished = "Not yet met (72 credit hours to go)" if not_passed("72").startswith("未达标") else "Not passed"
    assert "Training archive" in page and "Annual verification" in page and unfinished in page
    assert "Rule: At least 90 credit hours a year, at least two thirds of them professional subjects" in page
    assert "Total: 72 credit hours short (18 counted, at least 90 required)" in page
    assert "Professional subjects: " in page and "of the total credit hours required)" in page
    assert "Training course completion" in page and "Daily cap" in page and "Female" in page
    assert chinese_left(page, {"陈诗慧", "市第一人民医院", "卫生系列"}) == set()
    r = web.post_form("/archive?year=2026", {"year": "2026"}, post_url="/archive/recount", follow_redirects=True)
    assert f"Recounted the 2026 credit hours: {unfinished}" in text(r)
    # the stored sentences stay Chinese: the API and the Chinese page show them as they are
    body = web.client.get("/api/v1/archive?year=2026", headers=api_token(web.client, "chenshihui")).get_json()
    assert body["missing"][0] == "总学时还差72学时（已计入18学时，要求不少于90学时）"
    assert "总学时还差72学时（已计入18学时，要求不少于90学时）" in text(web.client.get("/archive?year=2026&lang=zh_CN"))


def test_sentences_translate_only_when_the_template_is_translated(app):
    from flask_babel import refresh

    from app.archive.services import MISSING_PROFESSIONAL, RULE_HOURS
    from app.core.i18n import translate

    sentence = MISSING_PROFESSIONAL % {"need": "6", "done": "54", "rule": RULE_HOURS % {"hours": "60"}}
    with app.test_request_context("/archive?lang=en"):
        refresh()  # the locale is cached on the test's app context
        assert translate(sentence) == ("Professional subjects: 6 credit hours short "
                                       "(54 counted, at least 60 credit hours required)")
        assert translate("未登记的句子") == "未登记的句子" and translate("") == "" and translate(None) is None
        from app.registration.workflow_hooks import ORG_TITLE

        title = ORG_TITLE % {"kind": "用人单位", "name": "福州某某公司"}
        assert translate(title) == "Employer unit registration: 福州某某公司"
    with app.test_request_context("/archive"):
        refresh()
        assert translate(sentence) == sentence


def test_process_admin_pages_and_editor_errors_in_english(app):
    web = browser(app)
    web.client.get("/login?lang=en")
    web.login("hr_province")
    page = text(web.client.get("/admin/processes/credit_hour_approval"))
    assert "Approval steps of the active version" in page and "Handled by (lane)" in page
    assert "Employer unit" in page and "Version history" in page
    assert chinese_left(page, {"省人社厅管理员"}) == set()  # the user's name
    token = web.csrf("/admin/processes/credit_hour_approval/edit")
    r = web.client.post("/admin/processes/credit_hour_approval/xml", data="<not-xml",
                        headers={"X-CSRFToken": token, "Content-Type": "application/xml"})
    assert r.status_code == 422
    assert r.get_json()["error"]["message"] == "The process file failed the checks and was not saved"
    r = web.post_form("/admin/processes/credit_hour_approval", {})
    assert r.status_code == 422 and "Choose a .bpmn file to upload" in text(r)
