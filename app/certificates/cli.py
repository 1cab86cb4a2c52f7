"""`flask --app wsgi fonts build [--force]`: make the certificate font (scripts/install.sh runs it)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

fonts = AppGroup("fonts", help="The embedded Chinese font of certificate PDFs.")


@fonts.command("build")
@click.option("--force", is_flag=True, help="Rebuild even when the files exist.")
def build(force: bool) -> None:
    """Instantiate Noto Sans SC Regular and Bold (static TrueType) into instance/fonts/."""
    from app.certificates.fonts import FONT_DIR, build_fonts

    built = build_fonts(force=force)
    click.echo(f"fonts ready in {FONT_DIR} ({len(built)} built)")
