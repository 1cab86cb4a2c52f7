"""Schema-driven fuzzing of the JSON API (schemathesis) from its own OpenAPI document, in-process (WSGI).

Every operation of ``/api/v1/openapi.json`` is called with requests generated from its parameters and body
schema, valid ones and invalid ones, signed in as the demo city bureau (``hr_city``). Each answer must be
something the document promises: no 5xx, a documented status, a documented content type, and a body that
matches the documented schema where one is given. Bounded: a few dozen cases per operation, well under 90 s;
the counts are printed at the end of the run.
"""

from __future__ import annotations

import os
import time

import schemathesis
from flask import g
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from app.extensions import db
from tests.conftest import DECLARATION, IN_CI, api_token, record_fuzz

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
#: Cases per operation (valid and invalid requests together). For a long local run:
#: ``FUZZ_EXAMPLES=500 FUZZ_BUDGET=3600 .venv/bin/python -m pytest tests/test_api_fuzz.py``.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
#: When the run has taken this long, the remaining operations get a few cases each (the file stays < 90 s).
BUDGET_SECONDS = float(os.environ.get("FUZZ_BUDGET", "60"))


def real_path_values(client, headers: dict) -> dict[str, dict[str, str]]:
    """Path parameters that name something the city bureau may act on, by the path's first segment, so that
    generated bodies also reach the handlers behind an id (random ids mostly stop at a 404): an open review
    task and its instance, the bureau itself, a subordinate, a role and a department."""
    r = client.post("/api/v1/processes/credit_hour_approval/instances", json=DECLARATION,
                    headers=api_token(client, "chenshihui"))
    instance_id = r.get_json()["id"]
    for login in ("hospital_admin", "health_admin"):
        reviewer = api_token(client, login)
        task = client.get("/api/v1/tasks", headers=reviewer).get_json()["items"][0]
        client.post(f"/api/v1/tasks/{task['id']}/complete", json={"outcome": "approve"}, headers=reviewer)
    task_id = client.get("/api/v1/tasks", headers=headers).get_json()["items"][0]["id"]
    own = client.get("/api/v1/org/admins", headers=headers).get_json()[0]["organisation_id"]
    role = client.post("/api/v1/org/roles", json={"name": "学时审核员", "modules": ["credit_review"]}, headers=headers)
    dept = client.post("/api/v1/org/departments", json={"name": "办公室"}, headers=headers)
    subordinate = client.get("/api/v1/org/subordinates", headers=headers).get_json()["items"][0]["id"]
    return {"tasks": {"id": task_id}, "instances": {"id": str(instance_id)}, "organisations": {"id": str(own)},
            "processes": {"key": "credit_hour_approval"}, "org": {
                "role_id": str(role.get_json()["id"]), "dept_id": str(dept.get_json()["id"]),
                "org_id": str(subordinate)}}


def test_every_operation_answers_as_documented(app, client):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # an unexpected error is a 500 answer, as in production
    try:
        headers = api_token(client, "hr_city")
        real = real_path_values(client, headers)
        schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) > 40, "the OpenAPI document lost its operations"
        started = time.monotonic()
        tried = 0
        failures: list[str] = []
        for operation in operations:
            examples = EXAMPLES if time.monotonic() - started < BUDGET_SECONDS else 3
            strategy = operation.as_strategy() | operation.as_strategy(GenerationMode.NEGATIVE)
            names = {p.name for p in operation.path_parameters}
            known = {k: v for k, v in real.get(operation.path.split("/")[1], {}).items() if k in names}
            if known and len(known) == len(names):
                strategy |= operation.as_strategy(path_parameters=known)

            @settings(max_examples=examples, deadline=None, database=None, derandomize=IN_CI,
                      phases=[Phase.explicit, Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck))
            @given(case=strategy)
            def call(case: schemathesis.Case) -> None:
                nonlocal tried
                tried += 1
                for key in list(g):  # a real server starts each request with an empty g
                    g.pop(key, None)
                # the generated Authorization header (a random token) gives way to the real one
                response = case.call(headers={**(case.headers or {}), **headers})
                case.validate_response(response, checks=CHECKS)

            try:
                call()
            except (Exception, BaseExceptionGroup) as exc:  # schemathesis' FailureGroup is a BaseExceptionGroup
                failures.append(f"{operation.label}: {exc}")
            finally:
                db.session.rollback()
        record_fuzz(f"schemathesis: {len(operations)} operations of /api/v1/openapi.json", tried, len(failures))
        assert not failures, "\n\n".join(failures)
    finally:
        app.config["PROPAGATE_EXCEPTIONS"] = None
