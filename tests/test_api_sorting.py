"""Every JSON list whose page sorts takes the same ``?sort=`` (a column of that page, '-' for descending): an
integrator reads the list in the order it needs; another value is a field error on ``sort``, never ignored."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from app.archive.models import CreditRecord
from app.archive.services import add_record
from app.extensions import db
from app.legacy import services as legacy
from app.legacy.cli import DEMO_FILE
from app.legacy.loader import load
from app.people.models import Person
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


def test_the_archive_search_sorts_and_pages_by_key_only_in_its_default_order(client):
    """/api/v1/archive/search (keyset paging with ``after``) takes the page's ``sort`` too: the order asked for,
    a 422 on ``sort`` for another column, and ``next_after`` only where it continues the order (default)."""
    for id_number, hours in (("110101199003072711", "12"), ("321101198110166954", "30")):
        person = db.session.scalar(select(Person).where(Person.id_number == id_number))
        add_record(CreditRecord(person_id=person.id, year=2026, subject_type="professional", course_name="课程",
                                declared_hours=Decimal(hours), recognised_hours=Decimal(hours), source="class",
                                source_id=int(hours)))
    db.session.commit()
    hospital = api_token(client, "hr_city")
    base = "/api/v1/archive/search?year=2026"

    def get(query: str):
        return client.get(base + query, headers=hospital)

    names = [i["name"] for i in get("&sort=name&per_page=200").get_json()["items"]]
    assert len(names) >= 3 and names == sorted(names)
    assert [i["name"] for i in get("&sort=-name&per_page=200").get_json()["items"]] == names[::-1]
    hours = [i["total_hours"] for i in get("&sort=-hours&per_page=200").get_json()["items"]]
    assert hours[:2] == [30.0, 12.0] and hours == sorted(hours, reverse=True)

    r = get("&sort=password")
    assert r.status_code == 422 and set(r.get_json()["error"]["fields"]) == {"sort"}
    by_name = get("&sort=name&per_page=2").get_json()
    assert by_name["next_after"] is None and get("&sort=name&page=2&per_page=2").status_code == 200
    default = get("&per_page=2").get_json()
    assert default["next_after"] is not None
    r = get(f"&sort=-hours&after={default['next_after']}")
    assert r.status_code == 422 and set(r.get_json()["error"]["fields"]) == {"after"}
    assert get(f"&sort=added&after={default['next_after']}").status_code == 200

    spec = client.get("/api/v1/openapi.json").get_json()
    [param] = [p for p in spec["paths"]["/archive/search"]["get"]["parameters"] if p["name"] == "sort"]
    assert {"-hours", "name", "added"} <= set(param["schema"]["enum"])
