"""Application factory: extensions, the explicit list of blueprints, CLI and error pages."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask, g, has_request_context, request

from config import INSTANCE_DIR, Config


def _locale() -> str:
    from flask import current_app, session

    if not has_request_context():  # CLI, jobs, services called from tests
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if request.path.startswith("/api/"):  # the API answers in the default language unless asked
        lang = request.args.get("lang")
        return lang if lang in current_app.config["LANGUAGES"] else current_app.config["BABEL_DEFAULT_LOCALE"]
    lang = request.args.get("lang") or session.get("lang")
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
        return lang
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def instance_secret_key(folder: Path) -> str:
    """The key in ``folder/secret_key``, made at random the first time (readable by this user only).
    Processes starting at once agree: the file appears whole or not at all, and the first one wins."""
    path = folder / "secret_key"
    if not path.exists():
        tmp = folder / f"secret_key.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()


def create_app(config_class: type = Config) -> Flask:
    app = Flask(__name__, instance_path=str(INSTANCE_DIR))
    app.config.from_object(config_class)
    INSTANCE_DIR.mkdir(exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret_key(Path(app.instance_path))

    from app import models as _models  # noqa: F401
    from app.extensions import babel, configure_engine, csrf, db, login_manager, migrate

    db.init_app(app)
    with app.app_context():
        configure_engine(db.engine)
    from app.workflow.engine import PARKED, Limits, set_limits

    PARKED.resize(app.config["WORKFLOW_CACHE_SIZE"])
    set_limits(Limits(max_steps=app.config["WORKFLOW_MAX_STEPS"], cpu_seconds=app.config["WORKFLOW_MAX_CPU_SECONDS"]))
    migrate.init_app(app, db, directory=str(app.root_path + "/migrations"), render_as_batch=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    from app.core.i18n import ensure_compiled

    ensure_compiled()
    babel.init_app(app, locale_selector=_locale, default_translation_directories="translations")

    from app.core import auth  # noqa: F401  (user loader)
    from app.credits import workflow_hooks

    workflow_hooks.register()
    from app.registration import workflow_hooks as registration_hooks

    registration_hooks.register()
    from app.changes import workflow_hooks as change_hooks

    change_hooks.register()

    from app.accounts.views import bp as accounts_bp
    from app.api import bp as api_bp
    from app.changes import api as _changes_api  # noqa: F401  (routes on the /api/v1 blueprint)
    from app.credits.views import bp as credits_bp
    from app.inbox.views import bp as inbox_bp
    from app.processes_admin.views import bp as processes_admin_bp

    app.register_blueprint(accounts_bp)
    app.register_blueprint(inbox_bp)
    app.register_blueprint(credits_bp)
    from app.certificates.views import bp as certificates_bp
    from app.taskcentre.views import bp as taskcentre_bp

    app.register_blueprint(certificates_bp)
    app.register_blueprint(taskcentre_bp)
    app.register_blueprint(processes_admin_bp)
    from app.changes.views import bp as changes_bp

    app.register_blueprint(changes_bp)
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    from app.orgadmin.views import bp as orgadmin_bp

    app.register_blueprint(orgadmin_bp)
    from app.archive.views import bp as archive_bp

    app.register_blueprint(archive_bp)
    csrf.exempt(api_bp)
    from app.registration.api import bp as registration_api_bp
    from app.registration.views import bp as registration_bp

    app.register_blueprint(registration_bp)
    app.register_blueprint(registration_api_bp, url_prefix="/api/v1")
    csrf.exempt(registration_api_bp)
    from app.audit.api import bp as audit_api_bp
    from app.audit.views import bp as audit_bp

    app.register_blueprint(audit_bp)
    app.register_blueprint(audit_api_bp, url_prefix="/api/v1")
    csrf.exempt(audit_api_bp)

    from app.core.web import register_web

    register_web(app)

    from app.cli import register_cli

    register_cli(app)

    @app.before_request
    def _lang() -> None:
        g.lang = _locale()

    return app
