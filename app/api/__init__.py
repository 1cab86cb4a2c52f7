"""What every API module shares: reading arguments (``args``), the error shape (``schemas``) and the OpenAPI
document assembled from each domain's paths (``openapi``, served at /api/v1/openapi.json). The routes live in
each domain's own ``api.py`` blueprint, listed in ``create_app``."""

from flask import Blueprint, current_app, jsonify

bp = Blueprint("api", __name__)


@bp.get("/openapi.json")
def openapi():
    from app.api.openapi import build_document

    # built from the paths of the API modules create_app registered, again when what create_app named as
    # changing it (the forms of its request bodies, edited in the browser) changed
    stamp = current_app.extensions["openapi_stamp"]()
    built = current_app.extensions.get("openapi_document")
    if built is None or built[0] != stamp:
        document = build_document(current_app.extensions["openapi_paths"])
        built = current_app.extensions["openapi_document"] = (stamp, document)
    return jsonify(built[1])
