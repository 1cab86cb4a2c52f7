"""Lane names are relations, resolved per instance relative to the applicant's unit (design §2).

An administrator changes who approves by moving tasks between lanes in the BPMN; the
platform only answers "which organisation is `<lane>` for this applicant".
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Integer, String, and_, bindparam, cast, func, select

from app.accounts.models import Organisation, OrgKind, OrgStatus
from app.extensions import db


def N_(text: str) -> str:  # noqa: N802  (marks a label for the catalogue; pages translate it with |tr)
    return text


#: The relations every process may use as lanes, as administrators read them. A process adds lanes of its
#: own (``institution``, ``target_unit``, ``old_superior``...) in its hooks (``ProcessHooks.lanes``).
LANE_LABELS: dict[str, str] = {
    "applicant": N_("申请人"),
    "unit": N_("用人单位"),
    "superior_unit": N_("上级单位"),
    "supervisory_department": N_("主管部门"),
    "hr_bureau": N_("人社部门"),
    "hr_city": N_("市级人社部门"),
    "hr_province": N_("省级人社部门"),
    "parent": N_("上级组织"),
}
#: Every lane name of :data:`LANE_LABELS` (the generic relations).
LANES = tuple(LANE_LABELS)


def known_lanes() -> dict[str, str]:
    """Every lane a BPMN file may use now: the generic relations and those the registered processes add."""
    from app.workflow import registry

    return {**LANE_LABELS, **registry.process_lanes()}


#: The organisations of a list of ids (a unit's ancestors), built once: every start resolves its lanes.
_ANCESTORS = select(Organisation).where(Organisation.id.in_(bindparam("ids", expanding=True)))


def resolve_lanes(unit: Organisation | None, extra: dict[str, Organisation | None] | None = None
                  ) -> dict[str, Organisation | None]:
    """Map each lane to an organisation for an applicant employed by ``unit``.

    * ``unit``: the unit itself; ``superior_unit``: its nearest ancestor that is a unit;
    * ``supervisory_department``: the nearest supervisory department above it;
    * ``hr_bureau``: the nearest HR bureau above it (the bureau the chain reports to);
    * ``hr_city`` / ``hr_province``: the bureau of that level above it (or itself);
    * ``parent``: the organisation directly above it (organisation info changes);
    * the process-specific lanes (``institution``, ``target_unit``, ``old_superior``,
      ``new_superior``; ``parent`` too when given: the organisation a new organisation registers under)
      come from ``extra``. ``applicant`` is a person, not an organisation.
    """
    lanes: dict[str, Organisation | None] = dict.fromkeys(known_lanes())
    lanes.update(extra or {})
    if unit is None:
        return lanes
    lanes["unit"] = unit
    ids = unit.ancestor_ids()
    ancestors = {o.id: o for o in db.session.scalars(_ANCESTORS, {"ids": ids})}
    chain = [ancestors[i] for i in reversed(ids) if i in ancestors]  # nearest first
    if lanes["parent"] is None and chain:
        lanes["parent"] = chain[0]
    for org in chain:
        if org.kind == OrgKind.EMPLOYER_UNIT and lanes["superior_unit"] is None:
            lanes["superior_unit"] = org
        elif org.kind == OrgKind.SUPERVISORY_DEPARTMENT and lanes["supervisory_department"] is None:
            lanes["supervisory_department"] = org
        elif org.kind == OrgKind.HR_BUREAU:
            if lanes["hr_bureau"] is None:
                lanes["hr_bureau"] = org
            if org.level == "city" and lanes["hr_city"] is None:
                lanes["hr_city"] = org
            if org.level == "province" and lanes["hr_province"] is None:
                lanes["hr_province"] = org
    return lanes


def reviews(org: Organisation | None) -> bool:
    """Does ``org`` take its review steps? Only while active with its review authority switched on
    (关闭审核权限 turns it off; a disabled organisation cannot act, so it is skipped too).
    :data:`REVIEWS` is the same rule in SQL."""
    return org is not None and org.review_enabled and org.status == OrgStatus.ACTIVE


#: :func:`reviews` as an SQL condition on ``organisation``.
REVIEWS = and_(Organisation.review_enabled.is_(True), Organisation.status == OrgStatus.ACTIVE)


def flags_for(lanes: dict[str, Organisation | None]) -> dict[str, bool]:
    """The ``lanes`` data a process's gateways read, from lane organisations already loaded."""
    return {lane: reviews(org) for lane, org in lanes.items()}


#: Which of these organisations review (a statement built once).
_REVIEWING = select(Organisation.id).where(Organisation.id.in_(bindparam("ids", expanding=True)), REVIEWS)


def reviewing_ids(lane_orgs: Any, dialect: str) -> Any:
    """SQL: the ids (comma-separated) of the organisations in a ``lane_orgs`` JSON column that review, as a
    scalar subquery, so the read that locks an instance brings its lanes' flags along (no second query
    per approval). :func:`flags_from` turns the answer into the ``lanes`` data."""
    lanes = func.json_each(lane_orgs).table_valued("key", "value").alias("lane")
    if dialect == "postgresql":
        lane_id: Any = cast(lanes.c.value.op("->>")("id"), Integer)
        ids = func.string_agg(cast(Organisation.id, String), ",")
    else:
        lane_id = func.json_extract(lanes.c.value, "$.id")
        ids = func.group_concat(Organisation.id)
    return select(ids).where(Organisation.id.in_(select(lane_id).select_from(lanes)), REVIEWS).scalar_subquery()


def lane_names(lane_orgs: Any, dialect: str) -> Any:
    """SQL: the current names of the organisations in a ``lane_orgs`` JSON column, as a JSON object {id: name}
    (a scalar subquery, read with the instance's lock: the answer of an approval names the next step's
    organisation without another query). :func:`names_from` reads the answer."""
    lanes = func.json_each(lane_orgs).table_valued("key", "value").alias("lane")
    if dialect == "postgresql":
        lane_id: Any = cast(lanes.c.value.op("->>")("id"), Integer)
        names = func.json_object_agg(Organisation.id, Organisation.name)
    else:
        lane_id = func.json_extract(lanes.c.value, "$.id")
        names = func.json_group_object(Organisation.id, Organisation.name)
    return select(names).where(Organisation.id.in_(select(lane_id).select_from(lanes))).scalar_subquery()


def names_from(answer: Any) -> dict[int, str]:
    """{organisation id: name} from the answer of :func:`lane_names` (a dict on PostgreSQL, JSON text on SQLite)."""
    if not answer:
        return {}
    if isinstance(answer, str):
        answer = json.loads(answer)
    return {int(k): v for k, v in answer.items()}


def flags_from(lane_orgs: dict[str, dict | None], reviewing: str | None) -> dict[str, bool]:
    """:func:`flags_for` from the answer of :func:`reviewing_ids`."""
    ids = {int(i) for i in (reviewing or "").split(",") if i}
    return {lane: bool(org) and org.get("id") in ids for lane, org in lane_orgs.items()}


def lane_flags(lane_orgs: dict[str, int | None]) -> dict[str, bool]:
    """:func:`flags_for` for lanes given by organisation id (read fresh: review may be switched mid-chain)."""
    ids = [i for i in lane_orgs.values() if i]
    reviewing = set(db.session.scalars(_REVIEWING, {"ids": ids})) if ids else set()
    return {lane: org_id in reviewing for lane, org_id in lane_orgs.items()}
