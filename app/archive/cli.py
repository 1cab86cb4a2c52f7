"""`flask --app wsgi archive recount --year 2026`: re-verify a year with the current DMN table."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.extensions import db

archive_cli = AppGroup("archive", help="Training archive (培训档案) and annual verification.")


@archive_cli.command("recount")
@click.option("--year", type=click.IntRange(1990, 2100), required=True, help="the year to verify again")
@click.option("--id-number", "id_numbers", multiple=True, help="only these persons (repeatable)")
def recount(year: int, id_numbers: tuple[str, ...]) -> None:
    """重新统计学时: verify every person's year again (or only the given persons)."""
    from sqlalchemy import select

    from app.archive.services import recount as do_recount
    from app.people.models import Person

    person_ids = None
    if id_numbers:
        wanted = [i.strip().upper() for i in id_numbers]
        person_ids = list(db.session.scalars(select(Person.id).where(Person.id_number.in_(wanted))))
        if len(person_ids) != len(set(wanted)):
            raise click.ClickException("some ID numbers were not found")
    if person_ids is None:
        from app.archive.jobs import recount_job

        count = recount_job(year)  # commits per batch
    else:
        count = do_recount(year, person_ids=person_ids)
        db.session.commit()
    click.echo(f"verified {count} person(s) for {year}")
