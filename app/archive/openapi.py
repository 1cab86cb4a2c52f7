"""The archive's part of the OpenAPI document."""

from __future__ import annotations

from typing import Any

from app.api.openapi import sort_parameter
from app.archive.services.search import DEFAULT_SORT as SEARCH_DEFAULT_SORT
from app.archive.services.search import SORTS as SEARCH_SORTS
from app.core.validators import MAX_PAGE

_HOURS = {"type": "object", "properties": {k: {"type": "number"} for k in
                                            ("public", "professional", "elective", "total")}}
_ERR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}

SCHEMAS: dict[str, dict[str, Any]] = {
    "ArchiveRecord": {"type": "object", "properties": {
        "id": {"type": "integer"}, "source": {"type": "string",
                                              "enum": ["declaration", "class", "grade", "results_report", "legacy",
                                                       "online"]},
        "source_label": {"type": "string"}, "source_id": {"type": "integer"}, "course_name": {"type": "string"},
        "subject_type": {"type": "string", "enum": ["public", "professional", "elective"]},
        "learning_form": {"type": ["string", "null"]}, "start_date": {"type": ["string", "null"], "format": "date"},
        "end_date": {"type": ["string", "null"], "format": "date"}, "days": {"type": ["number", "null"]},
        "institution_name": {"type": ["string", "null"]}, "declared_hours": {"type": "number"},
        "recognised_hours": {"type": "number"},
        "credited_hours": {"type": "number", "description": "recognised hours after the daily cap"},
        "capped": {"type": "boolean"},
        "platform": {"type": ["string", "null"], "description": "online learning platform (source online)"}}},
    "Archive": {"type": "object", "required": ["person", "year", "hours", "verified", "missing", "records"],
                "properties": {
                    "person": {"type": "object", "properties": {
                        "name": {"type": "string"}, "id_number": {"type": "string"},
                        "gender": {"type": ["string", "null"]}, "title_level": {"type": ["string", "null"]},
                        "unit": {"type": ["string", "null"]}}},
                    "year": {"type": "integer"}, "hours": _HOURS, "verified": {"type": "boolean"},
                    "result": {"type": "string", "enum": ["合格", "不合格"]},
                    "missing": {"type": "array", "items": {"type": "string"}},
                    "rule": {"type": "string", "description": "the matching rule of annual_verification.dmn"},
                    "records": {"type": "array", "items": {"$ref": "#/components/schemas/ArchiveRecord"},
                                "description": "all the year's records, or one page of them when page / per_page "
                                               "is given"},
                    "records_total": {"type": "integer", "description": "how many records the year has"},
                    "page": {"type": "integer", "description": "only when paged"},
                    "per_page": {"type": "integer", "description": "only when paged"}}},
    "Precheck": {"type": "object", "properties": {
        "person": {"type": "string"}, "year": {"type": "integer"}, "declared_hours": {"type": "number"},
        "credited_hours": {"type": "number"}, "capped": {"type": "boolean"},
        "daily_cap": {"type": ["number", "null"]}, "hours_before": _HOURS, "hours_after": _HOURS,
        "verified_after": {"type": "boolean"}, "missing_after": {"type": "array", "items": {"type": "string"}},
        "rule": {"type": "string"}}},
}


def _q(name: str, typ: str = "string", required: bool = False, **extra: Any) -> dict[str, Any]:
    return {"in": "query", "name": name, "required": required, "schema": {"type": typ, **extra}}


def _resp(schema: dict | None, *codes: str) -> dict[str, Any]:
    out: dict[str, Any] = {"200": {"description": "OK"}}
    if schema:
        out["200"]["content"] = {"application/json": {"schema": schema}}
    for code in codes:
        out[code] = {"description": code, **_ERR}
    return out


def add_paths(spec) -> None:
    for name, schema in SCHEMAS.items():
        spec.components.schema(name, schema)
    page = [_q("page", "integer", default=1, minimum=1, maximum=MAX_PAGE),
            _q("per_page", "integer", default=20, minimum=1, maximum=200)]
    spec.path(path="/archive", operations={"get": {
        "summary": "Training archive (培训档案) of a person and year, with the annual verification",
        "parameters": [_q("person_id_number", description="defaults to the actor"),
                       _q("year", "integer", required=True),
                       _q("page", "integer", description="page the records (default: all of them)"),
                       _q("per_page", "integer", maximum=200, description="records per page (20 when only page is "
                          "given)")],
        "responses": _resp({"$ref": "#/components/schemas/Archive"}, "401", "404", "422")}})
    spec.path(path="/archive/precheck", operations={"get": {
        "summary": "Before declaring: hours that would be credited and what the year would still miss",
        "parameters": [_q("person_id_number"), _q("year", "integer", required=True),
                       _q("subject_type", enum=["public", "professional", "elective"]),
                       _q("hours", "number", required=True), _q("days", "number"),
                       _q("start_date", format="date"), _q("end_date", format="date")],
        "responses": _resp({"$ref": "#/components/schemas/Precheck"}, "401", "404", "422")}})
    spec.path(path="/archive/search", operations={"get": {
        "summary": "Archives of the persons in the actor's scope for a year (stored verification results)",
        "parameters": [_q("year", "integer", required=True), _q("name"), _q("id_number"), _q("region"),
                       _q("title_level"), _q("gender"), _q("verified", "boolean"), *page,
                       sort_parameter(SEARCH_SORTS, SEARCH_DEFAULT_SORT),
                       _q("after", "integer", description="next_after of the previous page (keyset paging, default "
                                                          "order only; with another sort, page through)")],
        "responses": _resp(None, "401", "422")}})
    spec.path(path="/archive/recount", operations={"post": {
        "summary": "重新统计学时: re-verify a year (one person, or everyone in the actor's scope)",
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["year"],
            "properties": {"year": {"type": "integer"}, "person_id_number": {"type": "string"}}}}}},
        "responses": {**_resp(None, "401", "404", "422"),
                      "202": {"description": "with Redis: the recount runs as a background job (job_id)"}}}})
    spec.path(path="/credit-declarations", operations={"get": {
        "summary": "Credit-hour records lists (学时申报记录 / 单位申报记录)",
        "parameters": [_q("scope", enum=["mine", "unit", "org"], default="mine"),
                       _q("status", enum=["all", "pending", "approved", "rejected"], default="all"),
                       _q("year", "integer"), _q("learning_form", enum=["face_to_face", "online", "conference",
                                                                        "other"]),
                       _q("subject_type", enum=["public", "professional", "elective"]),
                       _q("course_name", description="part of the course name"),
                       _q("name"), _q("id_number"), *page],
        "responses": _resp(None, "401", "422")}})
