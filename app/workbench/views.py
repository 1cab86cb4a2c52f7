"""The workbench (工作桌面) at ``/``: what waits for the signed-in account. Everyone sees their to-dos by process
(with the oldest waiting case); an administrator with a statistics scope sees the year's people, completion and
who is still short of hours; a professional sees this year's hours against the rule and their open cases."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, jsonify, render_template, request
from flask_login import login_required

from app.accounts.actor import Actor
from app.archive import records
from app.archive import services as archive
from app.archive.models import SUBJECT_TYPES
from app.cases import queries as cases
from app.cases.views import process_names
from app.classes import queries as classes
from app.core.auth import web_actor
from app.statistics import queries
from app.training import access as training

bp = Blueprint("workbench", __name__)


def _year() -> int:
    raw = (request.args.get("year") or "").strip()
    year = int(raw) if raw.isdigit() and len(raw) == 4 else date.today().year
    return year if 1990 <= year <= 2100 else date.today().year


def unit_figures(actor: Actor, year: int) -> dict[str, Any] | None:
    """The year's figures over the actor's statistics scope (None without one)."""
    if not queries.has_scope(actor):
        return None
    scope = queries.scope_of(actor)
    head = queries.totals(scope, year)
    return {**head, "declared": queries.declared_people(scope, year), "short": head["people"] - head["completed"],
            "scope": [r.name for r in scope.roots]}


def follow_up(actor: Actor) -> dict[str, Any]:
    """What to follow up (待跟踪): per training workspace, the approved classes whose results are still to be
    reported; over the actor's organisations, the credit-hour declarations still under review."""
    out: dict[str, Any] = {"classes": [], "declarations": None}
    for org in training.training_orgs(actor):
        out["classes"].append((org, classes.count(org.id, reported=False)))
    if actor.staff_roots:
        out["declarations"] = records.count_declarations(actor, scope="org", status="pending")
    return out


def own_figures(actor: Actor, year: int) -> dict[str, Any] | None:
    person = actor.person
    if person is None:
        return None
    summary = archive.year_summary(person, year)
    open_cases = cases.my_applications(actor, status="running", per_page=10)
    waiting = cases.waiting_at([i.id for i in open_cases.items])
    orgs = cases.organisation_names({t.candidate_org_id for ts in waiting.values() for t in ts if t.candidate_org_id})
    return {"summary": summary, "requirement": summary.requirement, "cases": open_cases, "waiting": waiting,
            "orgs": orgs}


@bp.get("/")
@login_required
def index():
    actor = web_actor()
    year = _year()
    return render_template("workbench/index.html", year=year, todos=cases.waiting_by_process(actor),
                           processes=process_names(), unit=unit_figures(actor, year), own=own_figures(actor, year),
                           follow=follow_up(actor), subjects=SUBJECT_TYPES, actor=actor)


@bp.get("/workbench/data.json")
@login_required
def data():
    """The workbench's chart data: the professional's hours by subject against the rule, and (with a statistics
    scope) completion and training by year."""
    actor = web_actor()
    year = _year()
    out: dict[str, Any] = {"year": year}
    if actor.person is not None:
        summary = archive.year_summary(actor.person, year)
        req = summary.requirement
        out["own"] = {"hours": {k: float(v) for k, v in summary.hours.items()},
                      "required": {"total": float(req.min_total), "public": float(req.min_public),
                                   "professional": float(req.min_professional),
                                   "elective": float(req.min_elective)} if req else None}
    if queries.has_scope(actor):
        scope = queries.scope_of(actor)
        out["by_year"] = queries.completion_by_year(scope, year, queries.totals(scope, year)["people"])
        out["training"] = queries.training_by_year(scope, year)
    return jsonify(out)
