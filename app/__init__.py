"""Application factory: extensions, the explicit list of blueprints, CLI and error pages."""

from __future__ import annotations

import importlib
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


#: The modules whose ``register()`` declares the approval processes (their ``ProcessHooks``), the
#: service-task operations and the panels other domains add to cases (``app.cases.panels``).
#: Adding a process: README, "Adding an approval process".
PROCESS_MODULES = (
    "app.credits.workflow_hooks",
    "app.registration.workflow_hooks",
    "app.changes.workflow_hooks",
    "app.training.workflow_hooks",
    "app.transfers.workflow_hooks",
    "app.integrity.workflow_hooks",  # no process: the dishonesty panel on cases (app.cases.panels)
    "app.classes.workflow_hooks",
)
#: The web pages: each module's blueprint ``bp``.
WEB_MODULES = (
    "app.accounts.views",
    "app.cases.views",
    "app.credits.views",
    "app.certificates.views",
    "app.taskcentre.views",
    "app.processes_admin.views",
    "app.changes.views",
    "app.orgadmin.views",
    "app.archive.views",
    "app.registration.views",
    "app.audit.views",
    "app.statistics.views",
    "app.workbench.views",
    "app.training.views",
    "app.classes.views",
    "app.people.views",
    "app.imports.views",
    "app.transfers.views",
    "app.integrity.views",
    "app.legacy.views",
)
#: The JSON API under /api/v1: each module's blueprint ``bp`` and ``add_paths(spec)`` (its OpenAPI paths).
API_MODULES = (
    "app.accounts.api",
    "app.cases.api",
    "app.registration.api",
    "app.changes.api",
    "app.orgadmin.api",
    "app.archive.api",
    "app.certificates.api",
    "app.audit.api",
    "app.statistics.api",
    "app.training.api",
    "app.classes.api",
    "app.processes_admin.api",
    "app.people.api",
    "app.imports.api",
    "app.transfers.api",
    "app.integrity.api",
    "app.legacy.api",
)


def create_app(config_class: type = Config) -> Flask:
    app = Flask(__name__, instance_path=str(INSTANCE_DIR))
    app.config.from_object(config_class)
    from app.core.web import BoundedIntConverter

    app.url_map.converters["int"] = BoundedIntConverter  # before any route is added
    if app.config.get("PROXY_FIX"):  # behind that many proxies: the client address from X-Forwarded-For
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["PROXY_FIX"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    INSTANCE_DIR.mkdir(exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret_key(Path(app.instance_path))

    from app import models as _models  # noqa: F401
    from app.extensions import babel, configure_engine, csrf, db, login_manager, migrate

    db.init_app(app)
    from app.ops import views as ops

    ops.init_app(app)  # request ids, metrics, JSON logs, /healthz /readyz /metrics: before every other hook
    csrf.init_app(app)
    with app.app_context():
        configure_engine(db.engine)
    from app.workflow.engine import PARKED, Limits, set_limits

    PARKED.resize(app.config["WORKFLOW_CACHE_SIZE"])
    set_limits(Limits(max_steps=app.config["WORKFLOW_MAX_STEPS"], cpu_seconds=app.config["WORKFLOW_MAX_CPU_SECONDS"]))
    migrate.init_app(app, db, directory=str(app.root_path + "/migrations"), render_as_batch=True)
    login_manager.init_app(app)
    from app.accounts import usercache

    usercache.init_app(app)
    from app.core.i18n import ensure_compiled

    ensure_compiled()
    babel.init_app(app, locale_selector=_locale, default_translation_directories="translations")

    from app.core import auth  # noqa: F401  (user loader)

    for name in PROCESS_MODULES:  # each module's register() declares its processes and operations
        importlib.import_module(name).register()
    for name in WEB_MODULES:
        app.register_blueprint(importlib.import_module(name).bp)
    api_modules = [importlib.import_module(name) for name in API_MODULES]
    for module in [*api_modules, importlib.import_module("app.api")]:  # app.api: /openapi.json
        app.register_blueprint(module.bp, url_prefix="/api/v1")
        csrf.exempt(module.bp)  # bearer tokens, not cookies
    app.extensions["openapi_paths"] = [m.add_paths for m in api_modules]
    from app.workflow.forms import edits_stamp

    # what changes the document besides a new release: the forms of its request bodies, edited in the browser
    app.extensions["openapi_stamp"] = edits_stamp
    from app.legacy.services import verify_number

    # the certificate numbers the public verification knows besides the platform's own
    app.extensions["certificate_lookups"] = [verify_number]

    from app.core.web import register_web

    register_web(app)

    from app.ops.static import hashed_static

    hashed_static(app)  # after every blueprint: their static folders too

    from app.cli import register_cli

    register_cli(app)

    @app.before_request
    def _lang() -> None:
        g.lang = _locale()

    return app
