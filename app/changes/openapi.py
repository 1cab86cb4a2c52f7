"""The info-change part of the OpenAPI document (called from :mod:`app.api.openapi`)."""

from __future__ import annotations

from typing import Any

from app.workflow.forms import load_form

from .services import PERSON_DETAILS

_ERR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _responses(ok: str, schema: dict | None, **codes: str) -> dict[str, Any]:
    out: dict[str, Any] = {ok: {"description": "OK"}}
    if schema:
        out[ok]["content"] = {"application/json": {"schema": schema}}
    for code, text in codes.items():
        out[code.lstrip("_")] = {"description": text, **_ERR}
    return out


def add_paths(spec: Any) -> None:
    spec.components.schema("PersonInfoChange", load_form("person_info_change.schema.json"))
    spec.components.schema("OrganisationInfoChange", load_form("organisation_info_change.schema.json"))
    spec.components.schema("ChangeOfSuperior", load_form("change_of_superior.schema.json"))
    spec.components.schema("PersonProfile", {"type": "object", "properties": {
        "name": {"type": "string"}, "id_number": {"type": ["string", "null"]}, "unit": {"type": ["string", "null"]},
        "mobile": {"type": ["string", "null"]}, "email": {"type": ["string", "null"]},
        "reviewed": {"type": "object", "description": "fields that change only through person_info_change"},
        "details": {"type": "object", "description": "a professional's basic information they keep up "
                                                     "themselves, no review (完善个人信息)"}}})
    dates = ("graduation_date", "qualification_date")
    spec.components.schema("PersonContact", {"type": "object", "properties": {
        "mobile": {"type": "string", "format": "mobile"}, "email": {"type": "string", "format": "email"},
        **{name: {"type": ["string", "null"], **({"format": "date"} if name in dates else {}),
                  "description": "a professional's own record only (完善个人信息)"} for name in PERSON_DETAILS}}})
    spec.components.schema("OrganisationProfile", {"type": "object", "properties": {
        "id": {"type": "integer"}, "name": {"type": "string"}, "kind": {"type": "string"},
        "uscc": {"type": ["string", "null"]}, "parent": {"type": ["object", "null"]},
        "contact_person": {"type": ["string", "null"]}, "contact_phone": {"type": ["string", "null"]},
        "contact_email": {"type": ["string", "null"]}, "address": {"type": ["string", "null"]},
        "principal": {"type": ["string", "null"], "description": "负责人"},
        "phone": {"type": ["string", "null"], "description": "单位电话"},
        "postcode": {"type": ["string", "null"], "description": "邮政编码"},
        "functions": {"type": ["string", "null"], "description": "单位职能简介"},
        "nature": {"type": ["string", "null"], "description": "单位性质 (as registered)"},
        "industry": {"type": ["string", "null"]}, "region": {"type": ["string", "null"]}}})
    spec.components.schema("OrganisationContact", {"type": "object", "properties": {
        "contact_person": {"type": "string"}, "contact_phone": {"type": "string"},
        "contact_email": {"type": "string"}, "address": {"type": "string"},
        "principal": {"type": "string", "description": "负责人"},
        "phone": {"type": "string", "description": "单位电话: a mobile number or a landline with its area code"},
        "postcode": {"type": "string", "description": "邮政编码: six digits"},
        "functions": {"type": "string", "maxLength": 500, "description": "单位职能简介"}}})
    body = {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/X"}}}}

    def req(name: str) -> dict:
        return {**body, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}}

    ref = {"$ref": "#/components/schemas/PersonProfile"}
    spec.path(path="/profile", operations={
        "get": {"summary": "The actor's profile: contact fields, reviewed fields and (a professional) details",
                "responses": _responses("200", ref, _401="missing or invalid token", _404="no profile")},
        "patch": {"summary": "Change contact fields and a professional's basic information (完善个人信息) at once "
                           "(no review); reviewed fields answer 422",
                  "requestBody": req("PersonContact"),
                  "responses": _responses("200", ref, _401="missing or invalid token", _404="no profile",
                                          _422="invalid fields")}})
    org_param = [{"in": "path", "name": "id", "required": True, "schema": {"type": "integer"}}]
    ref = {"$ref": "#/components/schemas/OrganisationProfile"}
    spec.path(path="/organisations/{id}/profile", operations={
        "get": {"summary": "An organisation in the actor's scope", "parameters": org_param,
                "responses": _responses("200", ref, _401="missing or invalid token", _404="out of scope")},
        "patch": {"summary": "Change the organisation's contact fields, person in charge, telephone, postcode and "
                           "functions at once (its own administrator only)",
                  "parameters": org_param, "requestBody": req("OrganisationContact"),
                  "responses": _responses("200", ref, _401="missing or invalid token", _403="not its admin",
                                          _404="out of scope", _422="invalid fields")}})
    spec.path(path="/organisations/{id}/superior-candidates", operations={"get": {
        "summary": "Organisations this one may move under (change_of_superior: new_superior_id)",
        "parameters": org_param,
        "responses": _responses("200", {"type": "array", "items": {"type": "object"}},
                                _401="missing or invalid token", _404="not its admin")}})
