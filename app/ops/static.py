"""Static files under content-hashed names with a year's cache.

``url_for('static', filename='js/case-diagram.js')`` gives ``/static/js/case-diagram.3f2a9c1d7e4b.js``: the
first 12 hex digits of the file's SHA-256 go before its extension. A request for that name is answered with
``Cache-Control: public, max-age=31536000, immutable`` (a new version of the file has a new name, so browsers
and proxies never need to ask again); the plain name keeps working with the short default. Blueprint static
files (Bootstrap-Flask's ``bootstrap.static``) are treated alike. A hash that no longer matches the file (an
old page after a deployment) is served without the long cache rather than refused."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from typing import Any

from flask import Flask, Response
from werkzeug.security import safe_join

YEAR = 365 * 24 * 3600
_HASHED = re.compile(r"^(?P<stem>.+)\.(?P<digest>[0-9a-f]{12})(?P<ext>\.[A-Za-z0-9]+)$")


class _Digests:
    """File → digest, recomputed when the file's size or modification time changes."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[int, int, str]] = {}

    def of(self, path: str) -> str | None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        known = self._seen.get(path)
        if known and known[0] == st.st_mtime_ns and known[1] == st.st_size:
            return known[2]
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 16), b""):
                h.update(chunk)
        digest = h.hexdigest()[:12]
        self._seen[path] = (st.st_mtime_ns, st.st_size, digest)
        return digest


def _folders(app: Flask) -> dict[str, str]:
    """Static endpoint → its folder."""
    found = {"static": app.static_folder} if app.static_folder else {}
    for name, bp in app.blueprints.items():
        if bp.has_static_folder and bp.static_folder:
            found[f"{name}.static"] = bp.static_folder
    return found


def hashed_static(app: Flask) -> None:
    """Install the hashed names (call after every blueprint is registered)."""
    digests = _Digests()
    folders = _folders(app)

    def add_digest(endpoint: str, values: dict[str, Any]) -> None:
        folder = folders.get(endpoint)
        filename = values.get("filename")
        if folder is None or not isinstance(filename, str) or _HASHED.match(filename):
            return
        path = safe_join(folder, filename)
        digest = digests.of(path) if path else None
        if digest:
            stem, ext = os.path.splitext(filename)
            values["filename"] = f"{stem}.{digest}{ext}"

    app.url_defaults(add_digest)

    for endpoint, folder in folders.items():
        app.view_functions[endpoint] = _serve_hashed(app.view_functions[endpoint], folder, digests)


def _serve_hashed(serve: Callable[..., Response], folder: str, digests: _Digests) -> Callable[..., Response]:
    def view(filename: str) -> Response:
        m = _HASHED.match(filename)
        if m is None:
            return serve(filename=filename)
        plain = m["stem"] + m["ext"]
        resp = serve(filename=plain)
        if digests.of(os.path.join(folder, plain)) == m["digest"] and resp.status_code == 200:
            resp.cache_control.public = True
            resp.cache_control.max_age = YEAR
            resp.cache_control.immutable = True
            resp.cache_control.no_cache = None
            resp.expires = None
        return resp

    return view
