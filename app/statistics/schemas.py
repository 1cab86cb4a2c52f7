"""marshmallow schemas of the statistics API: `XArgs` check the query string, `XSchema` dump the answers and
describe them in the OpenAPI document."""

from __future__ import annotations

from datetime import date

from marshmallow import Schema, fields, validate

from app.cases.schemas import ApiTime


def _this_year() -> int:
    return date.today().year


class OverviewArgs(Schema):
    year = fields.Integer(load_default=_this_year, validate=validate.Range(1990, 2100))
    organisation_id = fields.Integer(load_default=None, metadata={
        "description": "narrow to one organisation of the scope and what is below it (drill-down)"})


class ReviewTimesArgs(Schema):
    process = fields.String(load_default=None, validate=validate.Length(max=64))
    year = fields.Integer(load_default=None, validate=validate.Range(1990, 2100))
    organisation_id = fields.Integer(load_default=None)


class HoursSchema(Schema):
    public = fields.Float(required=True)
    professional = fields.Float(required=True)
    elective = fields.Float(required=True)
    total = fields.Float(required=True)


class OrganisationFiguresSchema(Schema):
    organisation_id = fields.Integer(required=True)
    organisation = fields.String(required=True)
    people = fields.Integer(required=True)
    completed = fields.Integer(required=True)
    completion_rate = fields.Float(required=True, metadata={"description": "per cent"})
    hours = fields.Float(required=True, metadata={"description": "verified hours of the year"})


class OverviewSchema(Schema):
    year = fields.Integer(required=True)
    people = fields.Integer(required=True, metadata={"description": "professionals employed by units in scope"})
    completed = fields.Integer(required=True, metadata={"description": "of them, meeting the annual rule"})
    completion_rate = fields.Float(required=True, metadata={"description": "per cent, one decimal"})
    hours = fields.Nested(HoursSchema, required=True)
    by_organisation = fields.List(fields.Nested(OrganisationFiguresSchema), required=True, metadata={
        "description": "each organisation directly below the scope's root (with its subtree), and the root's "
                       "own staff"})


class ReviewTimeSchema(Schema):
    organisation_id = fields.Integer(required=True)
    organisation = fields.String(allow_none=True)
    open = fields.Integer(required=True, metadata={"description": "review tasks waiting now"})
    decided = fields.Integer(required=True, metadata={"description": "review tasks decided (in the year)"})
    median_hours = fields.Float(allow_none=True, metadata={"description": "from arrival to decision"})
    p90_hours = fields.Float(allow_none=True)
    oldest_open_at = ApiTime(allow_none=True)
    returns = fields.Integer(required=True, metadata={"description": "return decisions (back to the applicant)"})
    returns_per_100 = fields.Float(allow_none=True, metadata={"description": "returns per 100 decisions"})
