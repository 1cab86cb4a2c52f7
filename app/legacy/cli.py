"""``flask legacy-import FILE``: load a legacy dataset (app.legacy.loader)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from app.extensions import db

from .loader import LegacyFileError, load

#: The small sample seed-demo loads.
DEMO_FILE = Path(__file__).parent / "data" / "demo_legacy.csv"


@click.command("legacy-import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def legacy_import(file: Path) -> None:
    """Load old units, people, yearly records and certificate numbers from a CSV or .xlsx FILE (idempotent);
    refused rows are listed with their row numbers, the others are kept."""
    try:
        result = load(file)
    except LegacyFileError as exc:
        db.session.rollback()
        click.echo(f"cannot read {file}: {exc}", err=True)
        sys.exit(2)
    db.session.commit()
    for row_no, reason in result.errors:
        click.echo(f"row {row_no}: {reason}", err=True)
    click.echo(result.summary())


def seed_demo_legacy() -> int:
    """The demo's legacy sample (idempotent): how many rows were new (units, people, records, certificates)."""
    result = load(DEMO_FILE)
    return result.units + result.people + result.records + result.certificates
