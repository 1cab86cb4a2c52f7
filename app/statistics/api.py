"""GET /api/v1/statistics/overview and /statistics/review-times (issue 18): figures over the actor's statistics
scope; 404 for an account without one."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from app.api.args import query_args
from app.api.openapi import responses
from app.core.auth import api_actor
from app.statistics import queries
from app.statistics.schemas import OverviewArgs, OverviewSchema, ReviewTimesArgs, ReviewTimeSchema

bp = Blueprint("statistics_api", __name__)


@bp.get("/statistics/overview")
def overview():
    actor = api_actor()
    args = query_args(OverviewArgs())
    return jsonify(OverviewSchema().dump(queries.overview(actor, args["year"], args["organisation_id"])))


@bp.get("/statistics/review-times")
def review_times():
    actor = api_actor()
    args = query_args(ReviewTimesArgs())
    rows = queries.review_times(actor, process=args["process"], year=args["year"], org_id=args["organisation_id"])
    return jsonify(ReviewTimeSchema(many=True).dump(rows))


def add_paths(spec: Any) -> None:
    """The statistics paths of the OpenAPI document."""
    spec.components.schema("StatisticsOverview", schema=OverviewSchema)
    spec.components.schema("ReviewTime", schema=ReviewTimeSchema)

    def q(name: str, description: str, kind: str = "integer") -> dict[str, Any]:
        return {"in": "query", "name": name, "description": description, "schema": {"type": kind}}

    org = q("organisation_id", "one organisation of the scope (and what is below it)")
    spec.path(path="/statistics/overview", operations={"get": {
        "summary": "继教综合统计: people, completion and verified hours of a year over the actor's scope "
                   "(administrators, or sub-administrators with 统计查询)",
        "parameters": [q("year", "the year (default: this year)"), org],
        "responses": responses("200", "StatisticsOverview", "401", "404", "422")}})
    spec.path(path="/statistics/review-times", operations={"get": {
        "summary": "审核时效: per reviewing organisation in scope, open review tasks, tasks decided in the year, "
                   "median and 90th-percentile hours to decide, the oldest open task, returns per 100 decisions",
        "parameters": [q("process", "a process key", "string"), q("year", "year of the decisions (default: all)"),
                       org],
        "responses": responses("200", {"type": "array", "items": {"$ref": "#/components/schemas/ReviewTime"}},
                               "401", "404", "422")}})
