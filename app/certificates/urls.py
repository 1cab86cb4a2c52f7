"""Public URLs printed on certificates (the QR code opens the verification page)."""

from __future__ import annotations

from flask import current_app, request, url_for


def public_base_url() -> str:
    """PUBLIC_BASE_URL when set (the platform behind a proxy), else the current request's host."""
    return current_app.config.get("PUBLIC_BASE_URL") or request.host_url


def verify_url(number: str) -> str:
    return public_base_url().rstrip("/") + url_for("certificates.verify_page", number=number)
