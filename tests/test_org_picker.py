"""The organisation picker: the JSON endpoint (search, browse, kind filter, limit, only active
organisations), the widget on the registration pages and its no-JavaScript fallback, and a
province-sized set of organisations."""

from __future__ import annotations

import re
import time

from sqlalchemy import String, cast, insert, literal, select, text, update

from app.accounts.models import Organisation, OrgKind, OrgStatus
from app.extensions import db
from app.registration import senders
from app.registration.picker import search
from tests.registration_helpers import person

URL = "/api/v1/registrations/organisations"
HOSPITAL_PATH = ["省人力资源和社会保障厅", "市人力资源和社会保障局", "市卫生健康委员会", "市第一人民医院"]


def _org(name: str) -> Organisation:
    return db.session.scalar(select(Organisation).where(Organisation.name == name))


def _add(name: str, parent: str, kind: OrgKind = OrgKind.EMPLOYER_UNIT, status: OrgStatus = OrgStatus.ACTIVE,
         uscc: str | None = None) -> Organisation:
    p = _org(parent)
    org = Organisation(name=name, kind=kind, parent_id=p.id, status=status, uscc=uscc, path="/")
    db.session.add(org)
    db.session.flush()
    org.path = f"{p.path}{org.id}/"
    db.session.commit()
    return org


def _names(resp) -> list[str]:
    assert resp.status_code == 200
    return [o["name"] for o in resp.get_json()]


# --------------------------------------------------------------------------- the endpoint


def test_search_puts_prefix_matches_first_and_shows_the_full_path(client):
    _add("人民医院后勤服务中心", "市卫生健康委员会")
    r = client.get(URL, query_string={"q": "人民医院", "kind": "employer_unit"})
    assert _names(r) == ["人民医院后勤服务中心", "市第一人民医院"]
    hospital = r.get_json()[1]
    assert hospital["path"] == HOSPITAL_PATH
    # only public facts about organisations, never people
    assert set(hospital) == {"id", "name", "kind", "parent_id", "region", "path", "has_children"}
    assert r.headers["X-More-Results"] == "false"
    # the unified social credit code finds its organisation
    assert _names(client.get(URL, query_string={"q": "91410104ma9g8nfr0h"})) == ["福州智造科技有限公司"]


def test_kind_filter_takes_one_or_several_kinds(client):
    assert _names(client.get(URL, query_string={"q": "市", "kind": "hr_bureau"})) == ["市人力资源和社会保障局"]
    both = _names(client.get(URL, query_string={"q": "市", "kind": "hr_bureau,supervisory_department"}))
    assert both == ["市人力资源和社会保障局", "市卫生健康委员会"]
    repeated = client.get(URL + "?q=市&kind=hr_bureau&kind=supervisory_department")
    assert _names(repeated) == both
    assert "市第一人民医院" in _names(client.get(URL, query_string={"q": "市"}))


def test_limit_caps_a_search_and_says_there_is_more(client):
    r = client.get(URL, query_string={"q": "市", "limit": "2"})
    assert len(r.get_json()) == 2 and r.headers["X-More-Results"] == "true"
    assert len(client.get(URL, query_string={"q": "市", "limit": "100000"}).get_json()) == 4  # not refused


def test_browsing_goes_one_level_down_and_pages_with_a_cursor(client):
    roots = client.get(URL).get_json()
    assert [(o["name"], o["has_children"]) for o in roots] == [("省人力资源和社会保障厅", True)]
    for i in range(7):
        _add(f"鼓楼区第{i}企业", "区人力资源和社会保障局")
    district = _org("区人力资源和社会保障局")
    seen: list[str] = []
    url = f"{URL}?parent_id={district.id}&limit=3"
    pages = 0
    while url:
        r = client.get(url)
        batch = _names(r)
        assert len(batch) <= 3
        seen += batch
        pages += 1
        link = r.headers.get("Link")
        assert (link is not None) == (r.headers["X-More-Results"] == "true")
        url = re.match(r"<([^>]+)>", link).group(1) if link else None
    assert pages == 3 and len(seen) == len(set(seen)) == 8
    assert set(seen) == {"福州智造科技有限公司", *(f"鼓楼区第{i}企业" for i in range(7))}
    leaf = client.get(URL, query_string={"parent_id": district.id, "limit": 1}).get_json()[0]
    assert leaf["has_children"] is False and leaf["path"][:3] == HOSPITAL_PATH[:2] + ["区人力资源和社会保障局"]


def test_pending_and_disabled_organisations_are_not_listed(client):
    _add("待审核医疗器械公司", "市卫生健康委员会", status=OrgStatus.PENDING, uscc="91350102MA8RTY4K3X")
    closed = _add("已停用医院", "市卫生健康委员会", status=OrgStatus.DISABLED)
    _add("停用医院下属门诊部", "已停用医院")
    _add("被驳回医院", "市卫生健康委员会", status=OrgStatus.REJECTED)
    health = _org("市卫生健康委员会")
    assert _names(client.get(URL, query_string={"parent_id": health.id})) == ["市第一人民医院"]
    for q in ("待审核", "已停用", "被驳回", "91350102MA8RTY4K3X"):
        assert _names(client.get(URL, query_string={"q": q})) == [], q
    assert _names(client.get(URL, query_string={"parent_id": closed.id})) == []  # no way in through a closed unit
    names = _names(client.get(URL, query_string={"kind": "employer_unit", "limit": 200}))
    assert "市第一人民医院" in names and not {"待审核医疗器械公司", "已停用医院", "被驳回医院"} & set(names)
    assert client.get(URL, query_string={"parent_id": health.id}).get_json()[0]["has_children"] is False
    hospital = _org("市第一人民医院")
    hospital.status = OrgStatus.DISABLED
    db.session.commit()
    assert _names(client.get(URL, query_string={"q": "人民医院"})) == []


def test_openapi_documents_the_picker_parameters(client):
    op = client.get("/api/v1/openapi.json").get_json()["paths"]["/registrations/organisations"]["get"]
    assert {p["name"] for p in op["parameters"]} >= {"parent_id", "q", "kind", "limit", "after"}


# --------------------------------------------------------------------------- the pages


def test_registration_pages_render_the_picker_instead_of_a_select(web):
    page = web.client.get("/register").get_data(as_text=True)
    assert not re.search(r'<select[^>]*name="unit_id"', page)
    # the only lists are the coded title and education choices: no organisation is listed
    assert "市第一人民医院" not in re.findall(r"<option[^>]*>([^<]*)<", page)
    assert 'role="combobox"' in page and re.search(r"/static/js/org-picker\.[0-9a-f]{12}\.js", page)
    assert re.search(r'<noscript>\s*<input[^>]*name="unit_id_lookup"', page)
    page = web.client.get("/register/organisation?kind=employer_unit").get_data(as_text=True)
    kinds = re.search(r'data-kinds="([a-z_,]+)"[^>]*data-field="parent_id"', page).group(1).split(",")
    assert sorted(kinds) == ["employer_unit", "hr_bureau", "supervisory_department"]
    page = web.client.get("/register/organisation?kind=training_institution").get_data(as_text=True)
    assert re.search(r'data-kinds="hr_bureau"[^>]*data-field="hr_bureau_id"', page)
    assert re.search(r'data-kinds="supervisory_department"[^>]*data-field="supervisory_department_id"', page)
    assert not re.search(r'<select[^>]*name="(hr_bureau_id|supervisory_department_id|parent_id)"', page)


def test_form_shows_the_chosen_organisation_path_when_shown_again(web):
    data = person(password="short", password_confirm="short")
    r = web.post_form("/register", {**data, "verification_code": "000000"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert " / ".join(HOSPITAL_PATH) in html
    assert re.search(rf'name="unit_id" id="f-unit_id" value="{data["unit_id"]}"', html)


def test_without_javascript_a_name_or_uscc_is_resolved_on_the_server(client, web):
    _add("市第二人民医院", "市卫生健康委员会")
    data = {k: v for k, v in person().items() if k != "unit_id"}

    r = web.post_form("/register", {**data, "unit_id_lookup": "人民医院", "verification_code": "000000"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "找到多个单位" in html and "市第二人民医院" in html
    assert 'value="人民医院"' in html  # the typed text is kept
    r = web.post_form("/register", {**data, "unit_id_lookup": "市卫生健康委员会", "verification_code": "000000"})
    assert r.status_code == 422 and "未找到名称包含“市卫生健康委员会”的单位" in r.get_data(as_text=True)  # not a unit

    client.post("/api/v1/registrations/code", json={"mobile": data["mobile"]})
    code = senders.last_code(data["mobile"])
    r = web.post_form("/register", {**data, "unit_id_lookup": "市第一人民医院", "verification_code": code})
    assert r.status_code == 302, r.get_data(as_text=True)
    from tests.conftest import api_token

    items = client.get("/api/v1/tasks?process=person_registration",
                       headers=api_token(client, "hospital_admin")).get_json()["items"]
    assert [i["applicant"] for i in items] == ["张三"]


def test_without_javascript_the_organisation_form_resolves_a_uscc(web):
    r = web.post_form("/register/organisation", {"kind": "employer_unit", "parent_id_lookup": "91410104MA9G8NFR0H"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "上级单位/主管部门/同级人社部门" in html
    assert "福州智造科技有限公司" in html and "parent_id" not in _field_errors(html)
    r = web.post_form("/register/organisation", {"kind": "employer_unit", "parent_id_lookup": "没有这个单位"})
    assert r.status_code == 422 and "未找到名称包含“没有这个单位”的单位" in r.get_data(as_text=True)


def _field_errors(html: str) -> set[str]:
    return set(re.findall(r'id="f-([a-z_]+)-error"', html))


# --------------------------------------------------------------------------- scale


def test_a_province_sized_list_answers_a_search_within_the_limit(any_app):
    district = _org("区人力资源和社会保障局")
    rows = [{"name": f"福州{i:04d}号企业有限公司", "kind": OrgKind.EMPLOYER_UNIT, "status": OrgStatus.ACTIVE,
             "parent_id": district.id, "path": "/"} for i in range(3000)]
    db.session.execute(insert(Organisation), rows)
    db.session.execute(update(Organisation).where(Organisation.parent_id == district.id)
                       .values(path=literal(district.path) + cast(Organisation.id, String) + "/"))
    db.session.commit()
    client = any_app.test_client()
    start = time.perf_counter()
    r = client.get(URL, query_string={"q": "福州", "kind": "employer_unit", "limit": 20})
    elapsed = time.perf_counter() - start
    body = r.get_json()
    assert len(body) == 20 and r.headers["X-More-Results"] == "true"
    assert body[0]["name"] == "福州0000号企业有限公司"  # prefix matches in name order
    assert elapsed < 2
    assert _names(client.get(URL, query_string={"q": "2999号"})) == ["福州2999号企业有限公司"]
    assert len(client.get(URL, query_string={"parent_id": district.id}).get_json()) == 50  # the default limit
    assert len(search("企业", (OrgKind.EMPLOYER_UNIT,), 200)[0]) == 200
    capped = client.get(URL, query_string={"q": "企业", "limit": 5000})
    assert len(capped.get_json()) == 200 and capped.headers["X-More-Results"] == "true"
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE organisation"))
            conn.execute(text("SET LOCAL enable_seqscan = off"))
            plan = "\n".join(conn.execute(text("EXPLAIN SELECT id FROM organisation WHERE name LIKE '福州12%'"))
                             .scalars())
        assert "ix_organisation_name_prefix" in plan, plan
