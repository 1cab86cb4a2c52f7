"""CLI: `flask --app wsgi seed-demo`, `processes sync|check`, `worker`, `cleanup`, `backup`, `restore` (and archive,
fonts)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from app.extensions import db


def register_cli(app: Flask) -> None:
    @app.cli.command("seed-demo")
    def seed_demo() -> None:
        """Load the demo organisations and accounts (idempotent)."""
        from app.demo import seed
        from app.demo_history import seed_history

        created = seed()
        db.session.commit()
        chains = seed_history()
        db.session.commit()
        from app.training.demo import seed_catalogue, seed_course_plans, seed_plans

        training_rows = seed_catalogue()
        training_plans = seed_plans()
        course_plan_rows = seed_course_plans()
        db.session.commit()
        from app.legacy.cli import seed_demo_legacy

        legacy_rows = seed_demo_legacy()
        db.session.commit()
        from app.classes.demo import seed_classes

        classes = seed_classes()
        db.session.commit()
        click.echo(f"demo data ready ({created} new rows); every demo password is Demo12345")
        if chains:
            click.echo(f"demo history: {chains} credit-hour declarations of last year approved through the chain")
        if training_rows or training_plans:
            click.echo(f"demo training workspace: {training_rows} catalogue rows, {training_plans} plans and reports "
                       "(last year's approved, this year's plan waiting at the city bureau)")
        if course_plan_rows:
            click.echo(f"demo professional-course plans of 市第一人民医院: {course_plan_rows} rows (last year's "
                       "approved, this year's waiting at 市卫生健康委员会)")
        if legacy_rows:
            click.echo(f"demo legacy data: {legacy_rows} new rows (old units to claim at /legacy/claim)")
        if classes:
            click.echo(f"demo training classes: {classes} (last year's closed with recorded hours, one open with "
                       "attendance, one declaration waiting at the city bureau)")

    processes = AppGroup("processes", help="Process versions from processes/*.bpmn.")

    @processes.command("sync")
    def sync() -> None:
        """Create a version for every changed BPMN file."""
        from app.workflow.versions import sync_all

        for v in sync_all():
            click.echo(f"{v.process_key} v{v.version} {v.content_hash[:12]}")
        db.session.commit()

    @processes.command("check")
    @click.argument("files", nargs=-1, type=click.Path(exists=True, path_type=Path))
    def check(files: tuple[Path, ...]) -> None:
        """Parse and lint BPMN files without saving anything."""
        from app.workflow.engine import ProcessDefinitionError
        from app.workflow.versions import PROCESSES_DIR, bundle_from_text, parse_bundle

        failed = False
        for path in files or sorted(PROCESSES_DIR.glob("*.bpmn")):
            try:
                parse_bundle(bundle_from_text(path.read_text(encoding="utf-8")))
                click.echo(f"ok      {path.name}")
            except ProcessDefinitionError as exc:
                failed = True
                click.echo(f"invalid {path.name}: {exc}")
        sys.exit(1 if failed else 0)

    app.cli.add_command(processes)

    from app.archive.cli import archive_cli

    app.cli.add_command(archive_cli)

    from app.legacy.cli import legacy_import

    app.cli.add_command(legacy_import)

    from app.statistics.cli import statistics_cli

    app.cli.add_command(statistics_cli)

    @app.cli.command("worker")
    @click.option("--queue", "queues", multiple=True, default=("default",), show_default=True,
                  help="a queue to work on (repeat for several)")
    def worker(queues: tuple[str, ...]) -> None:
        """Run an rq worker on REDIS_URL (first handing out again the jobs whose worker died, and deleting this
        machine's scratch files older than JOB_SCRATCH_HOURS that such workers left)."""
        from app.core.jobs import run_worker
        from app.taskcentre.reconcile import reconcile_and_sweep

        run_worker(app, queues, before_work=reconcile_and_sweep)

    @app.cli.command("cleanup")
    @click.option("--upload-days", default=2, show_default=True, type=click.IntRange(min=1),
                  help="delete uploads never attached to an application after this many days")
    @click.option("--job-days", default=7, show_default=True, type=click.IntRange(min=1),
                  help="delete the result files of background jobs after this many days")
    def cleanup(upload_days: int, job_days: int) -> None:
        """Delete abandoned uploads and expired job result files, and retry background jobs whose worker
        died (run it daily, e.g. from cron; more often if workers are killed)."""
        from datetime import timedelta

        from app.accounts.captcha import purge_used
        from app.core.models import utcnow
        from app.core.ratelimit import purge_expired
        from app.taskcentre.reconcile import reconcile
        from app.taskcentre.services import purge_results
        from app.workflow.attachments import purge_unlinked

        now = utcnow()
        retried = reconcile(now=now)  # commits on its own
        uploads = purge_unlinked(now - timedelta(days=upload_days))
        files = purge_results(now - timedelta(days=job_days))
        captchas = purge_used(now - timedelta(seconds=app.config["CAPTCHA_SECONDS"] + 60))
        windows = purge_expired(now)
        db.session.commit()
        click.echo(f"deleted {uploads} abandoned uploads, {files} job result files, "
                   f"{captchas} records of answered captchas and {windows} ended rate-limit windows; "
                   f"{len(retried)} interrupted jobs handed out again")

    @app.cli.command("backup")
    @click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
    def backup_cmd(path: Path) -> None:
        """Back the whole database up to PATH (pg_dump custom format on PostgreSQL, a copy on SQLite)."""
        from app.ops.backup import backup

        backup(path)
        click.echo(f"backed up to {path} ({path.stat().st_size} bytes)")

    @app.cli.command("restore")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--yes", is_flag=True, help="do not ask before replacing the database's contents")
    def restore_cmd(path: Path, yes: bool) -> None:
        """Replace the whole database with the backup at PATH (stop the web processes and workers first)."""
        from app.ops.backup import restore

        if not yes:
            click.confirm(f"Replace everything in {db.engine.url.render_as_string()} with {path}?", abort=True)
        restore(path)
        click.echo(f"restored from {path}")

    from app.certificates.cli import fonts

    app.cli.add_command(fonts)
