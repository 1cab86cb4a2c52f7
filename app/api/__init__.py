"""The JSON API at /api/v1 (design §3): bearer tokens, JSON in and out."""

from flask import Blueprint

bp = Blueprint("api", __name__)

from app.api import views  # noqa: E402,F401
from app.archive import api as _archive_api  # noqa: E402,F401
from app.certificates import api as _certificates_api  # noqa: E402,F401
from app.orgadmin import api as _orgadmin_api  # noqa: E402,F401
