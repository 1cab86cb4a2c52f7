"""OpenAPI paths and schemas of registration and passwords (added to /api/v1/openapi.json)."""

from __future__ import annotations

from typing import Any

from apispec import APISpec

from app.api.openapi import PAGE_PARAMETERS, json_request, responses
from app.core.sorting import sort_choices
from app.registration import services
from app.registration.queries import REVIEWED_SORTS
from app.registration.schemas import PickerOrganisationSchema

_S = {"type": "string"}


def _obj(required: list[str], **props: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": props}


ACCOUNT = {
    "login": {**_S, "description": "4-32 letters, digits or _, starting with a letter; cannot be changed later"},
    "name": _S,
    "id_number": {**_S, "description": "GB 11643 ID number (check character verified); cannot be changed later"},
    "mobile": {**_S, "description": "11 digits starting 1[3-9]"},
    "email": {**_S, "format": "email"},
    "verification_code": {**_S, "description": "the code sent by POST /registrations/code"},
    "password": {**_S, "description": "8-16 characters mixing letters and digits"},
    "password_confirm": _S,
}

UNIT_ID = {"type": "integer", "description": "an active employer unit (see /registrations/organisations)"}

PICKER_PARAMETERS = (
    ("parent_id", "integer", "list the active children of this organisation"),
    ("q", "string", "name prefix / substring, or an 18-character unified social credit code"),
    ("kind", "string", "only these kinds (hr_bureau, supervisory_department, employer_unit, "
                       "training_institution); repeat it or separate with commas"),
    ("limit", "integer", "at most this many rows (default 50, at most 200)"),
    ("after", "integer", "browsing: continue after this id (the last one of the previous page)"),
)

SCHEMAS: dict[str, dict[str, Any]] = {
    "RegistrationCodeArgs": _obj(["mobile"], mobile=_S),
    "CodeSent": _obj(["sent"], sent={"type": "boolean"}, message=_S,
                     code={**_S, "description": "only in development (no SMS gateway)"}),
    "PersonRegistration": _obj(["login", "name", "id_number", "mobile", "verification_code", "password", "unit_id"],
                               **ACCOUNT, unit_id=UNIT_ID),
    "OrganisationRegistration": _obj(
        ["kind", "name", "uscc", "level", "phone", "industry", "region", "address", "principal", "licence"],
        kind={"type": "string", "enum": list(services.PARENT_KINDS)},
        name=_S, uscc={**_S, "description": "GB 32100 unified social credit code"},
        nature={"type": "string", "enum": list(services.NATURES), "description": "not for supervisory departments"},
        level={"type": "string", "enum": list(services.LEVELS)}, phone=_S, industry=_S, region=_S, address=_S,
        principal={**_S, "description": "person in charge (负责人)"},
        parent_id={"type": "integer", "description": "employer unit: superior unit, supervisory department or HR "
                                                     "bureau; supervisory department: the HR bureau at its level"},
        hr_bureau_id={"type": "integer", "description": "training institution: its HR bureau"},
        supervisory_department_id={"type": "integer", "description": "training institution: optional; approves "
                                                                     "instead of the HR bureau"},
        licence=_obj(["filename", "content_base64"], filename=_S, content_base64=_S),
        admin_mode={"type": "string", "enum": ["new", "existing"],
                    "description": "without a bearer token: the applying administrator's account"},
        admin_login=_S, admin_password=_S, admin_password_confirm=_S, admin_name=_S, admin_id_number=_S,
        admin_mobile=_S, admin_email=_S, verification_code=_S),
    "PickerOrganisation": PickerOrganisationSchema,
    "RegistrationResult": _obj(["instance_id", "status"], instance_id={"type": "integer"}, status=_S, message=_S),
    "ResetCodeArgs": _obj(["id_number", "channel", "contact"], id_number=_S,
                          channel={"type": "string", "enum": ["sms", "email"]},
                          contact={**_S, "description": "the registered mobile number or e-mail address"}),
    "PasswordReset": _obj(["id_number", "channel", "contact", "verification_code", "password"], id_number=_S,
                          channel={"type": "string", "enum": ["sms", "email"]}, contact=_S, verification_code=_S,
                          password=_S, password_confirm=_S),
    "PasswordChange": _obj(["old_password", "password"], old_password=_S, password=_S, password_confirm=_S,
                           login=_S),
}


def add_paths(spec: APISpec) -> None:
    for name, schema in SCHEMAS.items():
        if isinstance(schema, dict):
            spec.components.schema(name, schema)
        else:  # a marshmallow schema
            spec.components.schema(name, schema=schema)
    anon: dict[str, Any] = {"security": []}
    spec.path(path="/registrations/code", operations={"post": {
        **anon, "summary": "Send a registration verification code by SMS (the pluggable sender)",
        "requestBody": json_request("RegistrationCodeArgs"),
        "responses": responses("202", "CodeSent", "422", "429")}})
    spec.path(path="/registrations/person", operations={"post": {
        **anon, "summary": "Register a professional (专技人员注册): pending until the unit approves",
        "requestBody": json_request("PersonRegistration"),
        "responses": responses("201", "RegistrationResult", "400", "422")}})
    spec.path(path="/registrations/organisation", operations={"post": {
        "security": [{}, {"bearer": []}],
        "summary": "Register an employer unit, training institution or supervisory department; the parent approves "
                   "and the applicant (the token's user, or the admin_* account) becomes its super administrator. "
                   "Also accepts multipart/form-data with a file field `licence`.",
        "requestBody": json_request("OrganisationRegistration"),
        "responses": responses("201", "RegistrationResult", "400", "401", "422")}})
    spec.path(path="/registrations/organisations", operations={"get": {
        **anon, "summary": "Active organisations to register under (the organisation picker): children of "
                           "parent_id (roots without it), or those whose name starts with, then contains, q "
                           "(or whose USCC is q). At most `limit` rows; the header X-More-Results: true says "
                           "there are more, and browsing continues with `after` (Link: rel=\"next\").",
        "parameters": [{"in": "query", "name": n, "schema": {"type": t}, "description": d}
                       for n, t, d in PICKER_PARAMETERS],
        "responses": {"200": {"description": "organisations", "content": {"application/json": {"schema": {
            "type": "array", "items": {"$ref": "#/components/schemas/PickerOrganisation"}}}}}}}})
    spec.path(path="/password/reset/code", operations={"post": {
        **anon, "summary": "Send a password-reset code to the registered mobile or e-mail of an ID number "
                           "(same answer whether or not they match)",
        "requestBody": json_request("ResetCodeArgs"), "responses": responses("202", "CodeSent", "422", "429")}})
    spec.path(path="/password/reset", operations={"post": {
        **anon, "summary": "Set a new password with the code; unlocks the account",
        "requestBody": json_request("PasswordReset"), "responses": responses("200", None, "422")}})
    spec.path(path="/password/change", operations={"post": {
        "summary": "Change a password (the old one is required): the actor's, with a bearer token; or, without "
                   "one, the `login`'s — the way out of a temporary password, which gets no token. Either way the "
                   "tokens issued before stop working and the answer carries a new `token` (with `expires_in`)",
        "security": [{}, {"bearer": []}],
        "requestBody": json_request("PasswordChange"), "responses": responses("200", None, "401", "422", "429")}})
    spec.path(path="/tasks/reviewed", operations={"get": {
        "summary": "已审核: tasks the actor's organisations decided, newest first, with outcome and comment",
        "parameters": [{"in": "query", "name": "process", "schema": {"type": "string"}},
                       {"in": "query", "name": "q", "schema": {"type": "string"}}, *PAGE_PARAMETERS,
                       {"in": "query", "name": "sort", "description": "a column, descending with a leading '-' "
                        "(default: -decided, the latest decision first)",
                        "schema": {"type": "string", "enum": sort_choices(REVIEWED_SORTS)}}],
        "responses": responses("200", None, "401", "422")}})
