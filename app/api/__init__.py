"""What every API module shares: reading arguments (``args``), the error shape (``schemas``) and the OpenAPI
document assembled from each domain's paths (``openapi``, served at /api/v1/openapi.json). The routes live in
each domain's own ``api.py`` blueprint, listed in ``create_app``."""

from flask import Blueprint, current_app, jsonify

bp = Blueprint("api", __name__)


@bp.get("/openapi.json")
def openapi():
    from app.api.openapi import build_document
    from app.workflow.forms import edits_stamp

    # built from the paths of the API modules create_app registered, again when a form was edited (the
    # declaration and review forms are schemas of the document)
    stamp = edits_stamp()
    built = current_app.extensions.get("openapi_document")
    if built is None or built[0] != stamp:
        document = build_document(current_app.extensions["openapi_paths"])
        built = current_app.extensions["openapi_document"] = (stamp, document)
    return jsonify(built[1])
