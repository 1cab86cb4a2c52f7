"""`flask --app wsgi statistics check` / `statistics rebuild`: compare the statistics summary tables with a recount
from the rows, and rebuild them (after a bulk load that went around the triggers)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.extensions import db

statistics_cli = AppGroup("statistics", help="The statistics summary tables (继教综合统计).")


@statistics_cli.command("check")
def check() -> None:
    """Exit 1 when the summary tables differ from a recount (and say where)."""
    from app.statistics.summary import differences

    found = {name: keys for name, keys in differences().items() if keys}
    for name, keys in found.items():
        click.echo(f"{name}: {len(keys)} row(s) differ, e.g. {keys[:5]}")
    if found:
        raise SystemExit(1)
    click.echo("the summary tables equal a recount")


@statistics_cli.command("rebuild")
def rebuild() -> None:
    """Replace the summary tables by a recount from the rows."""
    from app.statistics.summary import rebuild as do_rebuild

    do_rebuild()
    db.session.commit()
    click.echo("summary tables rebuilt")
