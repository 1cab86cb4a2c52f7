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


@archive_cli.command("check-rule")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False))
@click.option("--year", type=int, default=None, help="show the requirement for this year")
@click.option("--province", default=None)
@click.option("--title-level", default=None)
def check_rule(file: str | None, year: int | None, province: str | None, title_level: str | None) -> None:
    """Parse and lint an annual verification table (default processes/annual_verification.dmn)
    and show what it asks for the given inputs, without saving anything."""
    import sys
    from datetime import date
    from pathlib import Path

    from app.workflow.decisions import DecisionError, decisions_dir, evaluate, parse_decision
    from app.workflow.engine import ProcessDefinitionError

    path = Path(file) if file else decisions_dir() / "annual_verification.dmn"
    try:
        decision = parse_decision(path.read_text(encoding="utf-8"), "annual_verification")
        out = evaluate(decision, {"year": year or date.today().year, "province": province, "region": province,
                                  "title_level": title_level})
    except (ProcessDefinitionError, DecisionError) as exc:
        click.echo(f"invalid {path.name}: {exc}")
        sys.exit(1)
    click.echo(f"ok      {path.name} ({decision.content_hash[:12]})")
    for key, value in out.items():
        click.echo(f"  {key}: {value}")
