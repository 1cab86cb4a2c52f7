"""Background recount (重新统计学时) of a whole scope: batches of persons, one commit per batch."""

from __future__ import annotations

from sqlalchemy import select

from app.accounts.actor import Actor
from app.accounts.models import User
from app.extensions import db
from app.people.models import Person

BATCH = 500


def recount_job(year: int, user_id: int | None = None, batch: int = BATCH) -> int:
    """Re-verify ``year`` for every person in the user's scope (everyone when ``user_id`` is
    None). Runs as an rq job (or inline without Redis); commits after each batch so a province
    of millions is not one transaction. Returns how many persons were verified."""
    from app.archive.services import person_scope_condition, verify_year

    actor = None
    if user_id is not None:
        user = db.session.get(User, user_id)
        if user is None:
            return 0
        actor = Actor.of(user)
    last_id, count = 0, 0
    while True:
        stmt = select(Person).where(Person.id > last_id).order_by(Person.id).limit(batch)
        if actor is not None:
            stmt = stmt.where(person_scope_condition(actor))
        people = list(db.session.scalars(stmt))
        if not people:
            break
        for person in people:
            verify_year(person, year)
        db.session.commit()
        count += len(people)
        last_id = people[-1].id
    return count
