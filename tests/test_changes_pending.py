"""Henan 003 (issue 16 item 4): an organisation changes its USCC or its superior only when nothing of it or
its people is under review; the refusal says how many cases, of which process, waiting where."""

from __future__ import annotations

from sqlalchemy import select

from app.accounts.models import Organisation
from app.extensions import db
from tests.conftest import DECLARATION, api_token

NEW_USCC = "91350100M000100Y43"


def oid(name: str) -> int:
    return db.session.scalar(select(Organisation.id).where(Organisation.name == name))


def change(client, key: str, body: dict, login: str = "hospital_admin", lang: str = ""):
    return client.post(f"/api/v1/processes/{key}/instances{lang}", json=body, headers=api_token(client, login))


def declare(client) -> int:
    r = client.post(
        "/api/v1/processes/credit_hour_approval/instances", json=DECLARATION, headers=api_token(client, "chenshihui")
    )
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def test_uscc_and_superior_changes_wait_until_nothing_is_under_review(client):
    first = declare(client)
    second = declare(client)
    waiting_at = client.get(f"/api/v1/instances/{first}", headers=api_token(client, "chenshihui")).get_json()
    waiting_org = waiting_at["tasks"][0]["organisation"]

    r = change(client, "organisation_info_change", {"uscc": NEW_USCC, "reason": "换证"})
    assert r.status_code == 409
    message = r.get_json()["error"]["message"]
    assert "2项业务正在审核中" in message and "学时申报审核2项" in message and waiting_org in message
    assert "统一社会信用代码" in message
    r = change(client, "organisation_info_change", {"uscc": NEW_USCC, "reason": "换证"}, lang="?lang=en")
    assert "2 case(s) of this organisation and its staff are under review" in r.get_json()["error"]["message"]

    r = change(client, "change_of_superior", {"new_superior_id": oid("市人力资源和社会保障局"), "reason": "归口"})
    assert r.status_code == 409 and "上级单位" in r.get_json()["error"]["message"]

    # a name alone may change meanwhile
    r = change(client, "organisation_info_change", {"name": "福州市第一人民医院", "reason": "更名"})
    assert r.status_code == 201, r.get_json()
    me = api_token(client, "chenshihui")
    for case in (first, second):
        assert client.post(f"/api/v1/instances/{case}/withdraw", headers=me).status_code == 200
    # another unit's cases do not count
    r = change(
        client, "change_of_superior", {"new_superior_id": oid("市卫生健康委员会"), "reason": "归口"}, "tech_admin"
    )
    assert r.status_code == 201, r.get_json()


def test_once_nothing_is_pending_the_superior_may_change(client):
    case = declare(client)
    assert client.post(f"/api/v1/instances/{case}/withdraw", headers=api_token(client, "chenshihui")).status_code == 200
    r = change(client, "change_of_superior", {"new_superior_id": oid("市人力资源和社会保障局"), "reason": "归口"})
    assert r.status_code == 201, r.get_json()


def test_the_change_page_says_why_in_either_language(client):
    from tests.conftest import WebClient

    declare(client)
    web = WebClient(client)
    web.login("hospital_admin")
    url = f"/changes/organisations/{oid('市第一人民医院')}/superior"
    r = web.post_form(url, {"new_superior_id": str(oid("市人力资源和社会保障局")), "reason": "归口"})
    assert r.status_code == 409
    assert "本单位及本单位人员有1项业务正在审核中" in r.get_data(as_text=True)
    r = web.post_form(
        url + "?lang=en", {"new_superior_id": str(oid("市人力资源和社会保障局")), "reason": "归口"}, url + "?lang=en"
    )
    html = r.get_data(as_text=True)
    assert r.status_code == 409 and "1 case(s) of this organisation and its staff are under review" in html
    assert "change this organisation&#39;s superior" in html or "change this organisation's superior" in html
