"""The authorization matrix (issue 20 (a)): every route of the app × every demo role × the relation of the
actor's organisation to the object in the URL (own, parent, child, sibling, unrelated).

Every rule of ``app.url_map`` (web pages and /api/v1) is classified in :data:`ROUTES`, one line each; a
route missing there fails :func:`test_every_route_is_classified`, so a new route forces a decision.
For a scoped route the object is created by a factory for a given organisation; then, as each role, the
route must answer within scope (not 404, not 403) and outside scope exactly 404 (never 200, never a 403
that tells the object exists: design §1 Scope), for GET and for writes (web forms with a valid CSRF token,
API calls with a bearer token). Who is "within scope" is written here from the design, independently of
the app's own checks (:data:`RULES`).

One seeded database serves the module: the reads run against it as they are; after a write that changed
any row the in-memory SQLite database is restored from a snapshot (SQLite's backup API), so every check
starts from the same data.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from sqlalchemy import select

from app.accounts.actor import Actor
from app.accounts.models import Membership, Organisation, OrgKind, Role, User
from app.extensions import db
from tests.conftest import DECLARATION, WebClient, _reset

# --------------------------------------------------------------------------- the organisation tree

#: The demo tree plus what the relations need: a sibling unit of each demo unit, a sub-unit of the
#: hospital, and a second tree that is unrelated to every demo account. key -> (parent key, kind).
TREE: dict[str, tuple[str | None, OrgKind]] = {
    "province": (None, OrgKind.HR_BUREAU),
    "city": ("province", OrgKind.HR_BUREAU),
    "district": ("city", OrgKind.HR_BUREAU),
    "health": ("city", OrgKind.SUPERVISORY_DEPARTMENT),
    "hospital": ("health", OrgKind.EMPLOYER_UNIT),
    "tech": ("district", OrgKind.EMPLOYER_UNIT),
    "institute": ("city", OrgKind.TRAINING_INSTITUTION),
    "ward": ("hospital", OrgKind.EMPLOYER_UNIT),
    "hospital2": ("health", OrgKind.EMPLOYER_UNIT),
    "tech2": ("district", OrgKind.EMPLOYER_UNIT),
    "other": (None, OrgKind.HR_BUREAU),
    "other_unit": ("other", OrgKind.EMPLOYER_UNIT),
}
DEMO_ORG_NAMES = {"province": "省人力资源和社会保障厅", "city": "市人力资源和社会保障局",
                  "district": "区人力资源和社会保障局", "health": "市卫生健康委员会", "hospital": "市第一人民医院",
                  "tech": "福州智造科技有限公司", "institute": "市继续教育学院"}
SUPERVISING = (OrgKind.HR_BUREAU, OrgKind.SUPERVISORY_DEPARTMENT)

RELATIONS = ("own", "parent", "child", "sibling", "unrelated")


def _ancestors(key: str) -> list[str]:
    out, parent = [], TREE[key][0]
    while parent:
        out.append(parent)
        parent = TREE[parent][0]
    return out


def relation(actor_org: str, obj_org: str) -> str:
    """How the object's organisation stands to the actor's: own, child (below), parent (above), sibling."""
    if obj_org == actor_org:
        return "own"
    if actor_org in _ancestors(obj_org):
        return "child"
    if obj_org in _ancestors(actor_org):
        return "parent"
    if TREE[obj_org][0] is not None and TREE[obj_org][0] == TREE[actor_org][0]:
        return "sibling"
    return "unrelated"


# --------------------------------------------------------------------------- the roles


@dataclass(frozen=True)
class Who:
    login: str
    org: str
    role: str  # admin / sub_admin / member
    modules: tuple[str, ...] = ()

    def holds(self, module: str) -> bool:
        return self.role == "admin" or (self.role == "sub_admin" and module in self.modules)

    @property
    def is_admin(self) -> bool:
        return self.role in ("admin", "sub_admin")


WHO = [
    Who("hr_province", "province", "admin"), Who("hr_city", "city", "admin"),
    Who("hr_district", "district", "admin"), Who("health_admin", "health", "admin"),
    Who("hospital_admin", "hospital", "admin"), Who("tech_admin", "tech", "admin"),
    Who("institute_admin", "institute", "admin"),
    Who("chenshihui", "hospital", "member"), Who("wangliping", "tech", "member"),
    #: created here: sub-administrators of the health commission, one whose role holds no module, one
    #: holding 学时审核
    Who("sub_nomodule", "health", "sub_admin"), Who("sub_review", "health", "sub_admin", ("credit_review",)),
]
#: The administrators of the organisations the demo has none for (created here).
EXTRA_ADMINS = {"ward": "ward_admin", "hospital2": "hospital2_admin", "tech2": "tech2_admin",
                "other": "other_admin", "other_unit": "other_unit_admin"}
ORG_ADMIN = {w.org: w.login for w in WHO if w.role == "admin"} | EXTRA_ADMINS


# --------------------------------------------------------------------------- rules: who is within scope


@dataclass(frozen=True)
class Obj:
    """An object of one kind, owned by ``org``; ``value`` goes into the URL (or the query / body)."""
    org: str
    value: Any
    owner: str | None = None  # the login of the user it belongs to (applicant, job owner), if any


def _down(who: Who, obj: Obj) -> bool:
    return relation(who.org, obj.org) in ("own", "child")


Rule = Callable[[Who, Obj], bool]

RULES: dict[str, Rule] = {
    # a case, its diagram and its attachments: the applicant; administrators at or above the unit who hold
    # the process's review module or staff data (a sub-administrator's role decides, design §1)
    "case": lambda w, o: o.owner == w.login or (
        any(w.holds(m) for m in ("credit_review", "people", "statistics")) and _down(w, o)),
    # only the applicant (who started it) takes a case back; others in scope are refused
    "case_starter": lambda w, o: o.owner == w.login,
    # a review task: its candidates (the unit's reviewers holding 学时审核)
    "task": lambda w, o: relation(w.org, o.org) == "own" and w.holds("credit_review"),
    # a person's archive and certificates: the person; administrators with staff data at or above the unit
    "staff": lambda w, o: o.owner == w.login or (
        (w.holds("people") or w.holds("statistics")) and _down(w, o)),
    # a background job: the user who started it
    "job": lambda w, o: o.owner == w.login,
    # an organisation's administrators, roles: its super administrator
    "super_admin": lambda w, o: relation(w.org, o.org) == "own" and w.role == "admin",
    # disabling or resetting an administrator: own super admin, or a supervising organisation above
    "admin_reach": lambda w, o: (relation(w.org, o.org) == "own" and w.role == "admin") or (
        relation(w.org, o.org) == "child" and TREE[w.org][1] in SUPERVISING and w.holds("organisation")),
    # departments: administrators holding 机构管理 in that organisation
    "departments": lambda w, o: relation(w.org, o.org) == "own" and w.holds("organisation"),
    # a subordinate organisation: strictly below an organisation the actor supervises
    "subordinate": lambda w, o: relation(w.org, o.org) == "child" and TREE[w.org][1] in SUPERVISING
    and w.holds("organisation"),
    # an organisation's own pages (profile, change applications): its administrators holding 机构管理
    "org_managed": lambda w, o: relation(w.org, o.org) == "own" and w.holds("organisation"),
    # applying to change an organisation's data: there must be a superior to approve it; bureaus' superiors
    # are fixed
    "org_change": lambda w, o: relation(w.org, o.org) == "own" and w.holds("organisation")
    and TREE[o.org][0] is not None,
    "superior_change": lambda w, o: relation(w.org, o.org) == "own" and w.holds("organisation")
    and TREE[o.org][1] != OrgKind.HR_BUREAU,
    # an organisation's profile through the API: its members, administrators at or above it
    "org_visible": lambda w, o: relation(w.org, o.org) == "own" or (w.is_admin and _down(w, o)),
    # a dishonesty entry (失信信息): administrators holding 信用管理 at or above the organisation it is against
    "dishonesty": lambda w, o: w.holds("integrity") and _down(w, o),
}


# --------------------------------------------------------------------------- the classification table

PUBLIC = "public"  # anyone, signed in or not
SIGNED_IN = "signed_in"  # any signed-in user (lists are scoped inside: not checked here)
STATIC = "static"  # files
#: The training workspace: tests/test_training_api.py, test_training_web.py and test_course_plans.py check every
#: route answers 404
#: without 培训管理 and for other organisations' rows; here only that it is closed to signed-out visitors.
TRAINING = "training"
#: People, binding, imports and exports: tests/test_people.py and test_imports.py check every route answers 404
#: for another unit's administrator and for a sub-admin without 人员管理; here only that signed-out visitors are
#: refused.
PEOPLE = "people"


@dataclass(frozen=True)
class Scoped:
    """A route whose URL names an object of ``kind``: ``see`` rules GET and who gets past not-found on
    writes; ``act`` (default ``see``), who may perform the write (others within ``see`` may be refused)."""
    kind: str
    see: str
    act: str | None = None
    where: str = "path"  # path (the URL parameter), query (?param=), body (JSON / form field)
    param: str = ""
    data: tuple[tuple[str, Any], ...] = ()  # the rest of a valid query or body


@dataclass(frozen=True)
class Only:
    """A page (not naming an object) for the roles of ``who`` (:data:`ACCESS`); others get 403 or 404.
    ``org``: the query parameter that picks which of the actor's organisations the page is about: another
    organisation (parent, child, sibling, unrelated) must answer 404."""
    who: str
    org: str = ""


#: Who may open the pages that are not for everyone (no object in the URL: 403 or 404 are both fine).
ACCESS: dict[str, Callable[[Who], bool]] = {
    "admins": lambda w: w.role == "admin",  # super administrators (audit log, administrators, roles)
    "org_module": lambda w: w.holds("organisation"),  # departments
    "supervisors": lambda w: TREE[w.org][1] in SUPERVISING and w.holds("organisation"),
    "staff_data": lambda w: w.holds("people") or w.holds("statistics"),
    "province": lambda w: w.org == "province" and w.role == "admin",  # process administration
    # declaring credit hours: professionals, and administrators of an employer unit for their staff
    # professionals; units and supervisory departments for their own staff (with 人员管理 or 学时审核); training
    # institutions for their students (with 学时审核)
    "declarers": lambda w: w.role == "member" or (
        TREE[w.org][1] in (OrgKind.EMPLOYER_UNIT, OrgKind.SUPERVISORY_DEPARTMENT)
        and (w.holds("people") or w.holds("credit_review"))) or (
        TREE[w.org][1] == OrgKind.TRAINING_INSTITUTION and w.holds("credit_review")),
    "professionals": lambda w: w.role == "member",
    # statistics (综合统计): administrators, and sub-administrators holding 统计查询
    "statistics": lambda w: w.role == "admin" or w.holds("statistics"),
    # 信用管理 (dishonesty records): administrators, sub-administrators holding it
    "integrity": lambda w: w.holds("integrity"),
    # 历史信息绑定: those who manage people (a unit claims; those above see the claims)
    "people_module": lambda w: w.holds("people"),
}


def only(who: str, *, org: str = "") -> Only:
    return Only(who, org)


def scoped(kind: str, see: str, act: str | None = None, *, query: str = "", body: str = "",
           **data: Any) -> Scoped:
    """``data``: what else a valid request carries (so that the answer is about scope, not a bad body)."""
    where = "query" if query else "body" if body else "path"
    return Scoped(kind, see, act, where, query or body, tuple(data.items()))


#: "METHOD rule" -> class. Adding a route: one line here.
ROUTES: dict[str, str | Scoped | Only] = {
    "GET /": SIGNED_IN, "GET /workbench/data.json": SIGNED_IN,
    "GET /declare/people": SIGNED_IN,  # the declaration form's staff picker: only the actor's own staff, else empty
    "POST /api/v1/exports": PEOPLE,
    "GET /api/v1/exports/<int:job_id>": PEOPLE,
    "GET /api/v1/exports/<int:job_id>/file": PEOPLE,
    "GET /api/v1/imports": PEOPLE,
    "POST /api/v1/imports": PEOPLE,
    "GET /api/v1/imports/<int:import_id>": PEOPLE,
    "GET /api/v1/imports/<int:import_id>/<any(failure, success):which>-file": PEOPLE,
    "GET /api/v1/imports/templates/<kind>": PEOPLE,
    "GET /api/v1/people": PEOPLE,
    "POST /api/v1/people": PEOPLE,
    "GET /api/v1/people/<int:person_id>": PEOPLE,
    "PATCH /api/v1/people/<int:person_id>": PEOPLE,
    "POST /api/v1/people/<int:person_id>/reset-password": PEOPLE,
    "POST /api/v1/people/<int:person_id>/unbind": PEOPLE,
    "POST /exports/<kind>": PEOPLE,
    "GET /imports": PEOPLE,
    "POST /imports": PEOPLE,
    "GET /imports/<int:import_id>/<any(failure, success):which>-file": PEOPLE,
    "GET /imports/<int:import_id>/progress": PEOPLE,
    "GET /imports/templates/<kind>": PEOPLE,
    "GET /me/binding": PEOPLE,
    "POST /me/binding": PEOPLE,
    "GET /people": PEOPLE,
    # transfers (人员调转): tests/test_transfers.py checks another unit's transfer records and staff answer 404
    "GET /api/v1/transfers": PEOPLE,
    "POST /api/v1/transfers": PEOPLE,
    "GET /api/v1/transfers/<int:transfer_id>": PEOPLE,
    "GET /transfers": PEOPLE,
    "GET /transfers/<int:transfer_id>": PEOPLE,
    "GET /transfers/new": PEOPLE,
    "POST /transfers/new": PEOPLE,
    "GET /people/<int:person_id>": PEOPLE,
    "GET /people/<int:person_id>/edit": PEOPLE,
    "POST /people/<int:person_id>/edit": PEOPLE,
    "POST /people/<int:person_id>/reset-password": PEOPLE,
    "GET /people/<int:person_id>/unbind": PEOPLE,
    "POST /people/<int:person_id>/unbind": PEOPLE,
    "GET /people/bindings": PEOPLE,
    "POST /people/bindings": PEOPLE,
    "GET /people/new": PEOPLE,
    "POST /people/new": PEOPLE,
    # dishonesty records and legacy data (issue 16)
    "GET /integrity": only("integrity"), "GET /integrity/new": only("integrity"), "POST /integrity/new": SIGNED_IN,
    "GET /integrity/<int:entry_id>": scoped("dishonesty", "dishonesty"),
    "POST /integrity/<int:entry_id>/revoke": scoped("dishonesty", "dishonesty", reason="矩阵测试"),
    "GET /api/v1/integrity/entries": SIGNED_IN, "POST /api/v1/integrity/entries": SIGNED_IN,
    "GET /api/v1/integrity/entries/<int:entry_id>": scoped("dishonesty", "dishonesty"),
    "POST /api/v1/integrity/entries/<int:entry_id>/revoke": scoped("dishonesty", "dishonesty", reason="矩阵测试"),
    "GET /legacy/claim": only("people_module"), "POST /legacy/claim": SIGNED_IN,
    "GET /api/v1/legacy/claims": SIGNED_IN, "POST /api/v1/legacy/claims": SIGNED_IN,
    "GET /legacy/certificates": SIGNED_IN, "GET /api/v1/legacy/certificates": SIGNED_IN,
    "GET /legacy/records": SIGNED_IN, "GET /api/v1/legacy/records": SIGNED_IN,
    "GET /legacy/certificates/<number>/pdf": scoped("legacy_certificate", "staff"),
    "GET /api/v1/legacy/certificates/<number>/pdf": scoped("legacy_certificate", "staff"),
    # probes and the Prometheus scrape: no user data (METRICS_TOKEN closes /metrics where it is reachable)
    "GET /healthz": PUBLIC, "GET /readyz": PUBLIC, "GET /metrics": PUBLIC,
    "DELETE /api/v1/training/<any(courses, teachers, sites):kind>/<int:row_id>": TRAINING,
    "GET /api/v1/training/<any(plans, reports):kind>": TRAINING,
    "POST /api/v1/training/<any(plans, reports):kind>": TRAINING,
    "DELETE /api/v1/training/<any(plans, reports):kind>/<int:row_id>": TRAINING,
    "GET /api/v1/training/<any(plans, reports):kind>/<int:row_id>": TRAINING,
    "PUT /api/v1/training/<any(plans, reports):kind>/<int:row_id>": TRAINING,
    "POST /api/v1/training/<any(plans, reports):kind>/<int:row_id>/<any(submit, withdraw, resubmit):action>": TRAINING,
    "GET /api/v1/training/<any(subjects, courses, teachers, sites):kind>": TRAINING,
    "POST /api/v1/training/<any(subjects, courses, teachers, sites):kind>": TRAINING,
    "PATCH /api/v1/training/<any(subjects, courses, teachers, sites):kind>/<int:row_id>": TRAINING,
    "POST /api/v1/training/attachments": TRAINING,
    "GET /api/v1/training/profile": TRAINING,
    "PUT /api/v1/training/profile": TRAINING,
    "GET /training/": TRAINING,
    "GET /training/<any(courses, subjects, teachers, sites):kind>": TRAINING,
    "POST /training/<any(courses, subjects, teachers, sites):kind>": TRAINING,
    "GET /training/<any(courses, subjects, teachers, sites):kind>/<int:row_id>": TRAINING,
    "POST /training/<any(courses, subjects, teachers, sites):kind>/<int:row_id>": TRAINING,
    "POST /training/<any(courses, subjects, teachers, sites):kind>/<int:row_id>/<any(enable, disable, delete):action>":
        TRAINING,
    "GET /training/<any(plans, reports):kind>": TRAINING,
    "GET /training/<any(plans, reports):kind>/<int:row_id>": TRAINING,
    "POST /training/<any(plans, reports):kind>/<int:row_id>": TRAINING,
    "POST /training/<any(plans, reports):kind>/<int:row_id>/<any(submit, withdraw, resubmit, delete):action>": TRAINING,
    "GET /training/<any(plans, reports):kind>/new": TRAINING,
    "POST /training/<any(plans, reports):kind>/new": TRAINING,
    "GET /api/v1/training/course-plans": TRAINING,
    "POST /api/v1/training/course-plans": TRAINING,
    "GET /api/v1/training/course-plans/approved": TRAINING,
    "GET /api/v1/training/course-plans/<int:row_id>": TRAINING,
    "PUT /api/v1/training/course-plans/<int:row_id>": TRAINING,
    "DELETE /api/v1/training/course-plans/<int:row_id>": TRAINING,
    "POST /api/v1/training/course-plans/<int:row_id>/<any(submit, withdraw, resubmit):action>": TRAINING,
    "POST /api/v1/training/course-plans/<int:row_id>/classes": TRAINING,
    "POST /api/v1/training/course-plans/<int:plan_id>/classes/<int:planned_id>/training-class": TRAINING,
    "DELETE /api/v1/training/course-plans/<int:row_id>/classes/<int:class_id>": TRAINING,
    "PUT /api/v1/training/course-plans/<int:row_id>/classes/<int:class_id>": TRAINING,
    "GET /training/course-plans/<int:row_id>/classes/<int:class_id>": TRAINING,
    "POST /training/course-plans/<int:row_id>/classes/<int:class_id>": TRAINING,
    "GET /training/course-plans": TRAINING,
    "GET /training/course-plans/approved": TRAINING,
    "GET /training/course-plans/new": TRAINING,
    "POST /training/course-plans/new": TRAINING,
    "GET /training/course-plans/<int:row_id>": TRAINING,
    "POST /training/course-plans/<int:row_id>": TRAINING,
    "POST /training/course-plans/<int:row_id>/classes": TRAINING,
    "POST /training/course-plans/<int:row_id>/classes/<int:class_id>/delete": TRAINING,
    "POST /training/course-plans/<int:row_id>/<any(submit, withdraw, resubmit, delete):action>": TRAINING,
    "GET /training/profile": TRAINING,
    "POST /training/profile": TRAINING,
    # training classes (培训班): tests/test_classes.py checks every route answers 404 for another organisation
    "GET /classes/": TRAINING,
    "GET /classes/grades": TRAINING,
    "POST /classes/grades": TRAINING,
    "GET /classes/new": TRAINING,
    "POST /classes/new": TRAINING,
    "POST /classes/from-course-plan/<int:plan_id>/<int:planned_id>": TRAINING,
    "GET /classes/<int:class_id>": TRAINING,
    "POST /classes/<int:class_id>": TRAINING,
    "POST /classes/<int:class_id>/<any(submit, withdraw, resubmit, delete, open, close, cancel, report, enrol, unenrol):action>":  # noqa: E501
        TRAINING,
    "GET /classes/<int:class_id>/members/<int:member_id>": TRAINING,
    "POST /classes/<int:class_id>/members/<int:member_id>": TRAINING,
    "POST /classes/<int:class_id>/sessions": TRAINING,
    "GET /classes/<int:class_id>/sessions/<int:session_id>": TRAINING,
    "POST /classes/<int:class_id>/sessions/<int:session_id>": TRAINING,
    "GET /api/v1/classes": TRAINING,
    "POST /api/v1/classes": TRAINING,
    "GET /api/v1/classes/<int:class_id>": TRAINING,
    "PUT /api/v1/classes/<int:class_id>": TRAINING,
    "DELETE /api/v1/classes/<int:class_id>": TRAINING,
    "POST /api/v1/classes/<int:class_id>/<any(submit, withdraw, resubmit, open, close, cancel, report):action>":
        TRAINING,
    "GET /api/v1/classes/<int:class_id>/members": TRAINING,
    "POST /api/v1/classes/<int:class_id>/members": TRAINING,
    "POST /api/v1/classes/<int:class_id>/members/cancel": TRAINING,
    "PUT /api/v1/classes/<int:class_id>/members/<int:member_id>/grade": TRAINING,
    "GET /api/v1/classes/<int:class_id>/sessions": TRAINING,
    "POST /api/v1/classes/<int:class_id>/sessions": TRAINING,
    "PUT /api/v1/classes/<int:class_id>/sessions/<int:session_id>/attendance": TRAINING,
    "GET /statistics": only("statistics"), "GET /statistics/data.json": only("statistics"),
    "GET /api/v1/statistics/overview": only("statistics"), "GET /api/v1/statistics/review-times": only("statistics"),
    "GET /static/<path:filename>": STATIC,
    "GET /bootstrap/static/<path:filename>": STATIC,
    "GET /login": PUBLIC, "POST /login": PUBLIC, "POST /logout": SIGNED_IN,
    "GET /captcha.png": PUBLIC,
    "GET /register": PUBLIC, "POST /register": PUBLIC, "POST /register/code": PUBLIC,
    "GET /register/organisation": PUBLIC, "POST /register/organisation": PUBLIC,
    "GET /password/forgot": PUBLIC, "POST /password/forgot": PUBLIC,
    "GET /password/change": SIGNED_IN, "POST /password/change": SIGNED_IN,
    "GET /certificates/verify": PUBLIC, "GET /certificates/verify/<number>": PUBLIC,
    # cases
    "GET /tasks": SIGNED_IN, "POST /tasks/batch": SIGNED_IN, "GET /tasks/reviewed": SIGNED_IN,
    "GET /tasks/<task_id>": scoped("task", "task"), "POST /tasks/<task_id>": scoped("task", "task"),
    "POST /tasks/<task_id>/claim": scoped("task", "task"),
    "POST /tasks/<task_id>/unclaim": scoped("task", "task"),
    "GET /applications": SIGNED_IN,
    "GET /applications/<int:instance_id>": scoped("case", "case"),
    "GET /applications/<int:instance_id>/diagram": scoped("case", "case"),
    "POST /applications/<int:instance_id>/withdraw": scoped("case", "case", "case_starter"),
    "GET /attachments/<int:attachment_id>": scoped("attachment", "case"),
    "GET /start": SIGNED_IN, "GET /start/<process_key>": only("declarers"), "POST /start/<process_key>": SIGNED_IN,
    "GET /declare": only("declarers"), "POST /declare": SIGNED_IN,
    # archive and certificates
    "GET /archive": scoped("person", "staff", query="person_id_number", year=2025),
    "GET /archive/precheck": scoped("person", "staff", query="person_id_number", year=2025, hours=10),
    "POST /archive/precheck": scoped("person", "staff", body="person_id_number", year=2025, hours=10),
    "POST /archive/recount": SIGNED_IN,
    "GET /archive/search": only("staff_data"), "GET /credit-records": SIGNED_IN,
    "GET /certificates": SIGNED_IN,
    "POST /certificates": scoped("person", "staff", body="person_id_number", year=2025),
    "GET /certificates/<number>/pdf": scoped("certificate", "staff"),
    "GET /certificates/batch": only("staff_data"), "POST /certificates/batch": SIGNED_IN,
    # task centre
    "GET /jobs": SIGNED_IN,
    "GET /jobs/<int:job_id>/download": scoped("job", "job"),
    "GET /jobs/<int:job_id>/progress": scoped("job", "job"),
    # audit
    "GET /audit": only("admins"),
    # organisation administration
    "GET /org/": only("admins"), "GET /org/admins": only("admins", org="org"), "POST /org/admins/add": SIGNED_IN,
    "POST /org/admins/<int:mid>/<action>": scoped("admin", "admin_reach"),
    "GET /org/departments": only("org_module", org="org"), "POST /org/departments": SIGNED_IN,
    "POST /org/departments/<int:dept_id>": scoped("department", "departments"),
    "GET /org/password": SIGNED_IN, "POST /org/password": SIGNED_IN,
    "GET /org/roles": only("admins", org="org"), "POST /org/roles": SIGNED_IN,
    "POST /org/roles/<int:role_id>": scoped("role", "super_admin"),
    "GET /org/subordinates": only("supervisors", org="org"),
    "GET /org/subordinates/<int:org_id>": scoped("org", "subordinate"),
    "POST /org/subordinates/<int:org_id>/<action>": scoped("org", "subordinate"),
    # changes and profiles
    "GET /changes": SIGNED_IN,
    "GET /changes/person": only("professionals"), "POST /changes/person": SIGNED_IN,
    "GET /changes/organisations/<int:org_id>": scoped("org", "org_managed"),
    "POST /changes/organisations/<int:org_id>": scoped("org", "org_managed", "org_change"),
    "GET /changes/organisations/<int:org_id>/superior": scoped("org", "org_managed"),
    "POST /changes/organisations/<int:org_id>/superior": scoped("org", "org_managed", "superior_change"),
    "GET /organisations/<int:org_id>/profile": scoped("org", "org_managed"),
    "POST /organisations/<int:org_id>/profile": scoped("org", "org_managed"),
    "GET /profile": SIGNED_IN, "POST /profile": SIGNED_IN,
    "GET /profile/details": only("professionals"), "POST /profile/details": only("professionals"),
    # process administration: the province bureau's administrators (others get 403: processes are no secret)
    "GET /admin/processes/": only("province"), "GET /admin/processes/<key>": only("province"),
    "POST /admin/processes/<key>": SIGNED_IN, "GET /admin/processes/<key>/edit": only("province"),
    "GET /admin/processes/<key>/v<int:number>.bpmn": only("province"), "POST /admin/processes/<key>/xml": SIGNED_IN,
    "GET /admin/processes/<key>/v<int:number>": only("province"),
    "POST /admin/processes/<key>/v<int:number>/restore": SIGNED_IN, "POST /admin/processes/<key>/dry-run": SIGNED_IN,
    "POST /admin/processes/<key>/migrate": SIGNED_IN, "POST /admin/processes/<key>/validate": SIGNED_IN,
    "GET /api/v1/process-definitions/<key>/versions": only("province"),
    "GET /api/v1/process-definitions/<key>/versions/<int:number>": only("province"),
    "POST /api/v1/process-definitions/validate": SIGNED_IN, "POST /api/v1/process-definitions/<key>/deploy": SIGNED_IN,
    "POST /api/v1/process-definitions/<key>/dry-run": SIGNED_IN,
    "GET /api/v1/process-definitions/<key>/draft": only("province"),  # a draft is seeded
    "PUT /api/v1/process-definitions/<key>/draft": SIGNED_IN,
    "DELETE /api/v1/process-definitions/<key>/draft": SIGNED_IN,
    "POST /api/v1/process-definitions/<key>/versions/<int:number>/restore": SIGNED_IN,
    "GET /admin/processes/<key>/draft.bpmn": only("province"), "POST /admin/processes/<key>/draft": SIGNED_IN,
    "POST /admin/processes/<key>/draft/delete": SIGNED_IN,
    "GET /admin/processes/rules/<rule_key>": only("province"),
    "GET /admin/processes/rules/<rule_key>/current.dmn": only("province"),
    "GET /admin/processes/rules/<rule_key>/v<int:number>.dmn": only("province"),
    "POST /admin/processes/rules/<rule_key>/validate": SIGNED_IN,
    "POST /admin/processes/rules/<rule_key>/try": SIGNED_IN,
    "POST /admin/processes/rules/<rule_key>/xml": SIGNED_IN,
    "GET /admin/processes/forms/": only("province"), "GET /admin/processes/forms/<form_name>": only("province"),
    "POST /admin/processes/forms/<form_name>": SIGNED_IN, "POST /admin/processes/forms/<form_name>/delete": SIGNED_IN,
    "POST /admin/processes/forms/preview": SIGNED_IN,
    "POST /admin/processes/rules/<rule_key>/v<int:number>/restore": SIGNED_IN,
    "POST /api/v1/process-definitions/<key>/versions/<int:number>/migrate": SIGNED_IN,
    "POST /api/v1/process-definitions/<key>/versions/<int:number>/migration-preview": SIGNED_IN,
    # ----- /api/v1
    "GET /api/v1/openapi.json": PUBLIC, "POST /api/v1/auth/token": PUBLIC,
    "POST /api/v1/registrations/code": PUBLIC, "POST /api/v1/registrations/organisation": PUBLIC,
    "GET /api/v1/registrations/organisations": PUBLIC, "POST /api/v1/registrations/person": PUBLIC,
    "POST /api/v1/password/reset": PUBLIC, "POST /api/v1/password/reset/code": PUBLIC,
    "POST /api/v1/password/change": SIGNED_IN,
    "GET /api/v1/certificates/<number>/verify": PUBLIC,
    "GET /api/v1/processes": SIGNED_IN, "GET /api/v1/processes/<key>/form": SIGNED_IN,
    "POST /api/v1/processes/<key>/instances": SIGNED_IN,
    "GET /api/v1/instances": SIGNED_IN,
    "GET /api/v1/instances/<int:instance_id>": scoped("case", "case"),
    "POST /api/v1/instances/<int:instance_id>/withdraw": scoped("case", "case", "case_starter"),
    "GET /api/v1/tasks": SIGNED_IN, "POST /api/v1/tasks/complete": SIGNED_IN,
    "GET /api/v1/tasks/reviewed": SIGNED_IN,
    "GET /api/v1/tasks/<task_id>": scoped("task", "task"),
    "POST /api/v1/tasks/<task_id>/claim": scoped("task", "task"),
    "POST /api/v1/tasks/<task_id>/unclaim": scoped("task", "task"),
    "POST /api/v1/tasks/<task_id>/complete": scoped("task", "task"),
    "GET /api/v1/archive": scoped("person", "staff", query="person_id_number", year=2025),
    "GET /api/v1/archive/precheck": scoped("person", "staff", query="person_id_number", year=2025,
                                                hours=10),
    "POST /api/v1/archive/recount": SIGNED_IN,
    "GET /api/v1/archive/search": SIGNED_IN, "GET /api/v1/credit-declarations": SIGNED_IN,
    "POST /api/v1/certificates": scoped("person", "staff", body="person_id_number", year=2025),
    "GET /api/v1/certificates/<number>/pdf": scoped("certificate", "staff"),
    "POST /api/v1/certificates/batch": SIGNED_IN,
    "GET /api/v1/jobs": SIGNED_IN,
    "GET /api/v1/jobs/<int:job_id>": scoped("job", "job"),
    "GET /api/v1/jobs/<int:job_id>/download": scoped("job", "job"),
    "GET /api/v1/audit": only("admins"),
    "GET /api/v1/org/admins": only("admins", org="org_id"), "POST /api/v1/org/admins": SIGNED_IN,
    "DELETE /api/v1/org/admins/<int:mid>": scoped("admin", "super_admin"),
    "POST /api/v1/org/admins/<int:mid>/disable": scoped("admin", "admin_reach"),
    "POST /api/v1/org/admins/<int:mid>/enable": scoped("admin", "admin_reach"),
    "POST /api/v1/org/admins/<int:mid>/reset-password": scoped("admin", "admin_reach"),
    "PUT /api/v1/org/admins/<int:mid>/role": scoped("admin", "super_admin", role_id=None),
    "POST /api/v1/org/admins/<int:mid>/transfer": scoped("admin", "super_admin"),
    "GET /api/v1/org/departments": only("org_module", org="org_id"), "POST /api/v1/org/departments": SIGNED_IN,
    "PATCH /api/v1/org/departments/<int:dept_id>": scoped("department", "departments"),
    "GET /api/v1/org/permission-modules": SIGNED_IN,
    "GET /api/v1/org/roles": only("admins", org="org_id"), "POST /api/v1/org/roles": SIGNED_IN,
    "PATCH /api/v1/org/roles/<int:role_id>": scoped("role", "super_admin"),
    "DELETE /api/v1/org/roles/<int:role_id>": scoped("role", "super_admin"),
    "GET /api/v1/org/subordinates": only("supervisors", org="org_id"),
    "GET /api/v1/org/subordinates/<int:org_id>/admins": scoped("org", "subordinate"),
    "POST /api/v1/org/subordinates/<int:org_id>/review": scoped("org", "subordinate", enabled=True),
    "POST /api/v1/org/subordinates/<int:org_id>/status": scoped("org", "subordinate", enabled=True),
    "GET /api/v1/organisations/<int:org_id>/profile": scoped("org", "org_visible"),
    "PATCH /api/v1/organisations/<int:org_id>/profile": scoped("org", "org_visible", "org_managed"),
    "GET /api/v1/organisations/<int:org_id>/superior-candidates": scoped("org", "org_visible", "org_managed"),
    "GET /api/v1/profile": SIGNED_IN, "PATCH /api/v1/profile": SIGNED_IN,
}

#: Values for the URL parameters of routes that are not scoped by organisation.
PLAIN_ARGS = {"filename": "css/app.css", "process_key": "credit_hour_approval", "key": "credit_hour_approval",
              "rule_key": "annual_verification", "form_name": "review",
              "number": "1", "action": "disable"}


def app_routes(app: Flask) -> list[tuple[str, str]]:
    out = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((method, rule.rule))
    return sorted(out, key=lambda mr: (mr[1], mr[0]))


def _key(method: str, rule: str) -> str:
    return f"{method} {rule}"


# --------------------------------------------------------------------------- the seeded world


def _id_number(serial: int) -> str:
    body = f"110101199001{serial % 28 + 1:02d}{serial:03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]


@dataclass
class World:
    app: Flask
    orgs: dict[str, Organisation] = field(default_factory=dict)
    objects: dict[str, dict[str, list[Obj]]] = field(default_factory=dict)  # kind -> org -> objects
    snapshot: sqlite3.Connection | None = None
    clients: dict[str, WebClient] = field(default_factory=dict)
    tokens: dict[str, dict] = field(default_factory=dict)
    csrf: dict[str, str] = field(default_factory=dict)

    def add(self, kind: str, obj: Obj) -> None:
        self.objects.setdefault(kind, {}).setdefault(obj.org, []).append(obj)

    # the raw SQLite connection (an in-memory database on one connection: StaticPool)
    def _raw(self) -> sqlite3.Connection:
        return db.engine.raw_connection().driver_connection  # type: ignore[return-value]

    def take_snapshot(self) -> None:
        self.snapshot = sqlite3.connect(":memory:")
        self._raw().backup(self.snapshot)

    def changes(self) -> int:
        return self._raw().total_changes

    def restore(self) -> None:
        db.session.remove()
        assert self.snapshot is not None
        self.snapshot.backup(self._raw())


def _user(login: str, name: str, org: Organisation, role: Role, modules: list[str] | None = None,
          id_number: str | None = None) -> User:
    from app.accounts.services import hash_password
    from app.demo import DEMO_PASSWORD

    user = User(login=login, name=name, password_hash=hash_password(DEMO_PASSWORD), id_number=id_number,
                mobile="13800000000")
    db.session.add(user)
    db.session.flush()
    db.session.add(Membership(user_id=user.id, organisation_id=org.id, role=role, permissions=modules or []))
    db.session.flush()
    return user


def _seed(world: World) -> None:
    from decimal import Decimal

    from app.certificates.models import Certificate
    from app.integrity.models import DishonestyEntry
    from app.legacy.models import LegacyCertificate, LegacyPerson, LegacyUnit
    from app.orgadmin.models import AdminRole, Department
    from app.people.models import Person
    from app.taskcentre.models import BackgroundJob
    from app.workflow import services
    from app.workflow.models import Attachment, WorkflowTask

    for key, (parent, kind) in TREE.items():
        if key in DEMO_ORG_NAMES:
            org = db.session.scalar(select(Organisation).where(Organisation.name == DEMO_ORG_NAMES[key]))
        else:
            up = world.orgs[parent] if parent else None
            org = Organisation(name=f"矩阵测试-{key}", kind=kind, parent_id=up.id if up else None,
                               level="province" if kind == OrgKind.HR_BUREAU else None, region="福建省")
            db.session.add(org)
            db.session.flush()
            org.path = (up.path if up else "/") + f"{org.id}/"
            _user(EXTRA_ADMINS[key], f"{key}管理员", org, Role.ADMIN)
        world.orgs[key] = org
    for who in WHO:
        if who.role == "sub_admin":
            _user(who.login, who.login, world.orgs[who.org], Role.SUB_ADMIN, list(who.modules))
    db.session.flush()

    users = {u.login: u for u in db.session.scalars(select(User))}
    people = {p.user_id: p for p in db.session.scalars(select(Person))}
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    cert_no = 0
    for serial, (key, org) in enumerate(world.orgs.items(), start=1):
        # a professional of this organisation, with a case (its first task waits at the unit), an
        # attachment on it and a certificate
        login = f"staff_{key}"
        id_number = _id_number(serial)
        user = _user(login, f"职工{key}", org, Role.MEMBER, id_number=id_number)
        person = Person(user_id=user.id, name=f"职工{key}", id_number=id_number, gender="女", unit_id=org.id)
        db.session.add(person)
        db.session.flush()
        owners = [(login, user, person)]
        if key == "hospital":
            owners.append(("chenshihui", users["chenshihui"], people[users["chenshihui"].id]))
        if key == "tech":
            owners.append(("wangliping", users["wangliping"], people[users["wangliping"].id]))
        for owner_login, owner, owner_person in owners:
            world.add("person", Obj(key, owner_person.id_number, owner_login))
            if TREE[key][1] == OrgKind.EMPLOYER_UNIT:
                instance = services.start_process("credit_hour_approval", dict(DECLARATION), actor=Actor.of(owner))
                world.add("case", Obj(key, instance.id, owner_login))
                task = db.session.scalar(select(WorkflowTask).where(WorkflowTask.instance_id == instance.id,
                                                                    WorkflowTask.completed_at.is_(None)))
                assert task is not None and task.candidate_org_id == org.id
                world.add("task", Obj(key, task.id, owner_login))
                att = Attachment(instance_id=instance.id, uploaded_by_id=owner.id, filename="a.png",
                                 content_type="image/png", size=len(png), sha256=hashlib.sha256(png).hexdigest(),
                                 data=png)
                db.session.add(att)
                db.session.flush()
                world.add("attachment", Obj(key, att.id, owner_login))
            cert_no += 1
            number = f"MATRIX{cert_no:04d}"
            db.session.add(Certificate(number=number, person_id=owner_person.id, year=2025, name=owner_person.name,
                                       id_number=owner_person.id_number, unit_name=org.name, issuer_name="",
                                       public_hours=Decimal(30), professional_hours=Decimal(60),
                                       elective_hours=Decimal(0), total_hours=Decimal(90), result_label="合格"))
            world.add("certificate", Obj(key, number, owner_login))
            legacy_unit = LegacyUnit(name=f"旧单位{cert_no}", code=f"OLD{cert_no:04d}", claimed_by_org_id=org.id)
            db.session.add(legacy_unit)
            db.session.flush()
            legacy_person = LegacyPerson(legacy_unit_id=legacy_unit.id, name=owner_person.name,
                                         id_number=owner_person.id_number, person_id=owner_person.id)
            db.session.add(legacy_person)
            db.session.flush()
            db.session.add(LegacyCertificate(number=f"LEGACY{cert_no:04d}", legacy_person_id=legacy_person.id,
                                             year=2016))
            world.add("legacy_certificate", Obj(key, f"LEGACY{cert_no:04d}", owner_login))
        # the organisation's own objects: a background job of its administrator, a sub-administrator,
        # a department, a role; the organisation itself
        admin_login = ORG_ADMIN[key]
        job = BackgroundJob(owner_id=users[admin_login].id, kind="export", title="矩阵测试", params={})
        db.session.add(job)
        sub = _user(f"sub_{key}", f"子管理员{key}", org, Role.SUB_ADMIN, ["people"])
        dept = Department(organisation_id=org.id, name=f"部门{key}")
        role = AdminRole(organisation_id=org.id, name=f"角色{key}", modules=["people"])
        db.session.add_all([dept, role])
        db.session.flush()
        world.add("job", Obj(key, job.id, admin_login))
        world.add("admin", Obj(key, next(m.id for m in sub.memberships)))
        world.add("department", Obj(key, dept.id))
        world.add("role", Obj(key, role.id))
        world.add("org", Obj(key, org.id))
        entry = DishonestyEntry(subject_type="organisation", subject_name=org.name, subject_org_id=org.id,
                                content="矩阵测试", recorded_by_org_id=org.id, recorded_by_id=users[admin_login].id,
                                status="active")
        db.session.add(entry)
        db.session.flush()
        world.add("dishonesty", Obj(key, entry.id))
    assert set(world.objects) == set(KINDS)
    from app.processes_admin.models import ProcessDraft  # the draft pages and API have one to show

    db.session.add(ProcessDraft(process_key=PLAIN_ARGS["key"], bpmn_xml="<definitions/>"))
    db.session.commit()


@pytest.fixture(scope="module")
def world(_sqlite_app: Flask) -> Iterator[World]:
    app = _sqlite_app
    _reset(app)
    with app.app_context():
        w = World(app)
        _seed(w)
        for who in WHO:
            web = WebClient(app.test_client())
            r = web.login(who.login)
            assert r.status_code == 302, (who.login, r.status_code)
            w.clients[who.login] = web
            w.csrf[who.login] = web.csrf("/password/change")
            r = app.test_client().post("/api/v1/auth/token", json={"login": who.login, "password": "Demo12345"})
            assert r.status_code == 200, (who.login, r.get_json())
            w.tokens[who.login] = {"Authorization": f"Bearer {r.get_json()['token']}"}
        db.session.remove()
        w.take_snapshot()
        yield w
        db.session.remove()
    _reset(app)


# --------------------------------------------------------------------------- the checks


def _objects_for(world: World, who: Who, kind: str) -> list[tuple[str, Obj]]:
    """For ``who``: one object of ``kind`` per relation (the first organisation in tree order that stands
    in it), and their own object if they have one."""
    by_org = world.objects[kind]
    picked: list[tuple[str, Obj]] = []
    seen: set[str] = set()
    for org in TREE:
        rel = relation(who.org, org)
        for obj in by_org.get(org, []):
            if obj.owner == who.login:
                picked.append(("self", obj))
            elif rel not in seen and (obj.owner is None or obj.owner.startswith("staff_")
                                      or kind == "job"):
                seen.add(rel)
                picked.append((rel, obj))
    return picked


def _url(rule: str, scoped_: Scoped | None = None, obj: Obj | None = None) -> str:
    def arg(m: re.Match) -> str:
        name = m.group(2)
        if scoped_ is not None and scoped_.where == "path" and obj is not None and name != "action":
            return str(obj.value)
        return PLAIN_ARGS.get(name, "1")

    url = re.sub(r"<any\(([^),]+)[^)]*\):\w+>", lambda m: m.group(1).strip(), rule)  # one of its words
    url = re.sub(r"<(?:(\w+):)?(\w+)>", arg, url)
    if scoped_ is not None and scoped_.where == "query" and obj is not None:
        url += "?" + urlencode({scoped_.param: obj.value, **dict(scoped_.data)})
    return url


def _request(world: World, who: str | None, method: str, url: str, body: dict | None = None):
    api = url.startswith("/api/")
    if who is None:
        client = world.app.test_client()
        headers: dict = {}
    else:
        client = world.clients[who].client
        headers = world.tokens[who] if api else {}
    if method == "GET":
        return client.get(url, headers=headers)
    if api:
        return client.open(url, method=method, json=body or {}, headers=headers)
    return client.open(url, method=method, data={**(body or {}), "csrf_token": world.csrf.get(who or "", "")})


#: The kinds of object :func:`_seed` creates for every organisation (a new kind: add its factory there).
KINDS = ("person", "case", "task", "attachment", "certificate", "job", "admin", "department", "role", "org",
         "dishonesty", "legacy_certificate")


def test_every_route_is_classified(_sqlite_app: Flask) -> None:
    routes = app_routes(_sqlite_app)
    missing = [_key(m, r) for m, r in routes if _key(m, r) not in ROUTES]
    assert not missing, "classify these routes in ROUTES of tests/test_authz_matrix.py:\n" + "\n".join(missing)
    stale = set(ROUTES) - {_key(m, r) for m, r in routes}
    assert not stale, f"ROUTES names routes the app no longer has: {sorted(stale)}"
    for cls in ROUTES.values():
        assert isinstance(cls, Scoped | Only) or cls in (PUBLIC, SIGNED_IN, STATIC, TRAINING, PEOPLE), cls
        if isinstance(cls, Only):
            assert cls.who in ACCESS
        if isinstance(cls, Scoped):
            assert cls.see in RULES and (cls.act is None or cls.act in RULES) and cls.kind in KINDS


def _scoped_routes(world: World, write: bool) -> list[tuple[str, str, Scoped]]:
    return [(m, r, cls) for m, r in app_routes(world.app)
            if isinstance(cls := ROUTES.get(_key(m, r)), Scoped) and (m != "GET") == write]


@dataclass
class Tally:
    pairs: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    def report(self, what: str) -> None:
        total = sum(self.pairs.values())
        print(f"\nauthz matrix, {what}: {total} checks; by relation: {dict(sorted(self.pairs.items()))}; "
              f"leaks: {len(self.failures)}")


def _check(world: World, tally: Tally, method: str, rule: str, cls: Scoped, who: Who, rel: str, obj: Obj) -> None:
    url = _url(rule, cls, obj)
    body: dict[str, Any] = dict(cls.data)
    if cls.where == "body":
        body[cls.param] = obj.value
    r = _request(world, who.login, method, url, body)
    tally.pairs[rel] += 1
    sees = RULES[cls.see](who, obj)
    acts = RULES[cls.act or cls.see](who, obj)
    where = f"{method} {url} as {who.login} ({rel} of {obj.org}): {r.status_code}"
    if r.status_code >= 500:
        tally.failures.append(f"server error: {where}")
    elif not sees and r.status_code != 404:
        tally.failures.append(f"outside scope, not 404: {where}")
    elif sees and acts and r.status_code in (403, 404):
        tally.failures.append(f"within scope, refused: {where} {r.get_data(as_text=True)[:200]!r}")


def test_scoped_reads_answer_404_outside_scope_and_open_within(world: World) -> None:
    tally = Tally()
    for method, rule, cls in _scoped_routes(world, write=False):
        for who in WHO:
            for rel, obj in _objects_for(world, who, cls.kind):
                _check(world, tally, method, rule, cls, who, rel, obj)
    tally.report("reads")
    assert not tally.failures, "\n".join(tally.failures)


def test_scoped_writes_answer_404_outside_scope_and_are_accepted_within(world: World) -> None:
    tally = Tally()
    for method, rule, cls in _scoped_routes(world, write=True):
        for who in WHO:
            for rel, obj in _objects_for(world, who, cls.kind):
                before = world.changes()
                _check(world, tally, method, rule, cls, who, rel, obj)
                if world.changes() != before:
                    world.restore()
    tally.report("writes")
    assert not tally.failures, "\n".join(tally.failures)


def test_signed_out_visitors_reach_only_public_routes(world: World) -> None:
    """Signed out, every other route sends the browser to the login page (forms posted with a valid CSRF
    token) and answers the API with 401 — before reading the body, so a bad body is no way in either."""
    anonymous = WebClient(world.app.test_client())
    token = anonymous.csrf("/login")
    failures, checked = [], 0
    for method, rule in app_routes(world.app):
        cls = ROUTES.get(_key(method, rule))
        if cls in (PUBLIC, STATIC, None):
            continue
        obj = world.objects[cls.kind]["hospital"][0] if isinstance(cls, Scoped) else None
        url = _url(rule, cls if isinstance(cls, Scoped) else None, obj)
        if url.startswith("/api/"):
            r = anonymous.client.open(url, method=method, json={} if method != "GET" else None)
            ok = r.status_code == 401
        else:
            r = anonymous.client.open(url, method=method, data={"csrf_token": token} if method != "GET" else None)
            ok = r.status_code == 302 and "/login" in r.headers.get("Location", "")
        checked += 1
        if not ok:
            failures.append(f"{method} {url}: {r.status_code}")
    print(f"\nauthz matrix, signed out: {checked} routes; not refused: {len(failures)}")
    assert not failures, "\n".join(failures)



def test_pages_for_some_roles_open_for_them_and_no_one_else(world: World) -> None:
    """The pages naming no object, as every role: public and signed-in ones open (<400, or 422 for a search
    asked without its terms); a page for some roles opens for them and answers others 403 or 404."""
    failures, checked = [], 0
    for method, rule in app_routes(world.app):
        cls = ROUTES.get(_key(method, rule))
        if method != "GET" or isinstance(cls, Scoped) or cls in (STATIC, TRAINING, PEOPLE):
            continue
        url = _url(rule)
        for who in WHO:
            r = _request(world, who.login, method, url)
            checked += 1
            allowed = ACCESS[cls.who](who) if isinstance(cls, Only) else True
            if r.status_code >= 500 or (allowed and r.status_code in (401, 403, 404)) or (
                    not allowed and r.status_code not in (403, 404)):
                failures.append(f"{'for' if allowed else 'not for'} {who.login}: GET {url}: {r.status_code}")
    print(f"\nauthz matrix, pages naming no object: {checked} checks; wrong answers: {len(failures)}")
    assert not failures, "\n".join(failures)


def test_pages_about_one_of_my_organisations_answer_404_for_any_other(world: World) -> None:
    """/org pages and their API pick the organisation from the query: only the actor's own."""
    tally = Tally()
    for method, rule in app_routes(world.app):
        cls = ROUTES.get(_key(method, rule))
        if method != "GET" or not isinstance(cls, Only) or not cls.org:
            continue
        for who in WHO:
            for rel, obj in _objects_for(world, who, "org"):
                url = f"{_url(rule)}?{cls.org}={obj.value}"
                r = _request(world, who.login, method, url)
                tally.pairs[rel] += 1
                where = f"GET {url} as {who.login} ({rel} of {obj.org}): {r.status_code}"
                if r.status_code >= 500 or (rel != "own" and r.status_code != 404):
                    tally.failures.append(f"not their organisation, not 404: {where}")
                elif rel == "own" and ACCESS[cls.who](who) and r.status_code in (401, 403, 404):
                    tally.failures.append(f"their organisation, refused: {where}")
    tally.report("pages about one organisation")
    assert not tally.failures, "\n".join(tally.failures)
