"""Every JSON list whose page sorts takes the same ``?sort=`` (a column of that page, '-' for descending): an
integrator reads the list in the order it needs; another value is a field error on ``sort``, never ignored."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.legacy import services as legacy
from app.legacy.cli import DEMO_FILE
from app.legacy.loader import load
from tests.conftest import actor, api_token

LISTS = [
    ("/api/v1/people", "hospital_admin", "-name"),
    ("/api/v1/integrity/entries", "hr_city", "name"),
    ("/api/v1/transfers", "hospital_admin", "-from_unit"),
    ("/api/v1/classes", "institute_admin", "name"),
    ("/api/v1/legacy/records", "hospital_admin", "-year"),
    ("/api/v1/legacy/certificates", "hospital_admin", "number"),
    ("/api/v1/tasks/reviewed", "hospital_admin", "-decided"),
]


@pytest.mark.parametrize(("path", "login", "sort"), LISTS)
def test_a_list_takes_a_column_and_refuses_anything_else(client, path, login, sort):
    headers = api_token(client, login)
    assert client.get(f"{path}?sort={sort}", headers=headers).status_code == 200
    for bogus in ("password", "-bogus", "name;drop"):
        r = client.get(f"{path}?sort={bogus}", headers=headers)
        assert r.status_code == 422 and set(r.get_json()["error"]["fields"]) == {"sort"}, (bogus, r.get_json())
    spec = client.get("/api/v1/openapi.json").get_json()
    [param] = [p for p in spec["paths"][path.removeprefix("/api/v1")]["get"]["parameters"] if p["name"] == "sort"]
    assert sort in param["schema"]["enum"]


def test_the_order_asked_for_is_the_order_answered(client):
    hospital = api_token(client, "hospital_admin")

    def names(path: str) -> list[str]:
        return [i["name"] for i in client.get(path, headers=hospital).get_json()["items"]]

    ascending = names("/api/v1/people?sort=name&per_page=200")
    assert len(ascending) >= 2 and ascending == sorted(ascending)
    assert names("/api/v1/people?sort=-name&per_page=200") == ascending[::-1]

    load(DEMO_FILE)
    legacy.claim(actor("hospital_admin"), None, "people", {"people": [
        {"name": "陈诗慧", "id_number": "110101199003072711"}, {"name": "刘文斌", "id_number": "321101198110166954"},
        {"name": "黄丽娟", "id_number": "35010219850715002X"}]})
    db.session.commit()

    def numbers(sort: str) -> list[str]:
        body = client.get(f"/api/v1/legacy/certificates?sort={sort}", headers=hospital).get_json()
        return [i["number"] for i in body["items"]]

    assert len(numbers("number")) >= 2 and numbers("number") == sorted(numbers("number"))
    assert numbers("-number") == sorted(numbers("number"), reverse=True)
