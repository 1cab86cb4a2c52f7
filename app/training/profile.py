"""The institution's own profile (基本信息维护): its registered fields, read here, and its teaching facilities and
staffing, which its administrators (培训管理) keep up to date."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.accounts.actor import Actor
from app.accounts.models import Organisation
from app.extensions import db
from app.registration.models import OrganisationProfile
from app.training.access import current_org
from app.training.models import TrainingProfile

#: The fields the institution edits here.
FIELDS = ("facilities", "classrooms", "seats", "managers", "full_time_teachers", "part_time_teachers", "staffing")


@dataclass
class Profile:
    org: Organisation
    registered: OrganisationProfile | None
    own: TrainingProfile


def get(actor: Actor, org_id: int | None) -> Profile:
    org = current_org(actor, org_id)
    own = db.session.get(TrainingProfile, org.id) or TrainingProfile(organisation_id=org.id)
    return Profile(org, db.session.get(OrganisationProfile, org.id), own)


def update(actor: Actor, org_id: int | None, values: dict[str, Any]) -> Profile:
    profile = get(actor, org_id)
    own = profile.own
    for name in FIELDS:
        if name in values:
            setattr(own, name, values[name])
    own.updated_by_id = actor.id
    if own not in db.session:
        db.session.add(own)
    db.session.flush()
    return profile
