"""Certificate PDFs: an HTML template rendered by xhtml2pdf with the embedded Noto Sans SC font.

xhtml2pdf renders one document at a time per process and empties ReportLab's caches after
each render, so the font is declared with ``@font-face`` in the template itself (the parsed
font stays registered, only the per-document mapping is rebuilt). Fonts live outside the
template directory, so the resource policy names the font directory as an extra root.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from decimal import Decimal
from typing import IO

import segno
from flask import render_template
from xhtml2pdf import pisa
from xhtml2pdf.config.resources import ResourceAccessPolicy

from app.certificates.fonts import ensure_fonts, font_path


@dataclass(frozen=True)
class CertificateView:
    """Everything printed on a certificate (a snapshot taken when it was issued)."""

    number: str
    name: str
    id_number_masked: str
    unit_name: str
    year: int
    public_hours: Decimal
    professional_hours: Decimal
    elective_hours: Decimal
    total_hours: Decimal
    result_label: str
    issuer_name: str
    issued_on: str
    verify_url: str


class RenderError(RuntimeError):
    pass


def qr_data_uri(url: str) -> str:
    """The verification URL as a PNG QR code (``data:`` URIs need no resource policy)."""
    buf = io.BytesIO()
    segno.make(url, error="m", micro=False).save(buf, kind="png", scale=4, border=2)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def hours_text(value: Decimal | float | int) -> str:
    d = Decimal(str(value)).normalize()
    return f"{d:f}"


def certificate_html(cert: CertificateView) -> str:
    ensure_fonts()
    return render_template(
        "certificates/certificate_pdf.html", cert=cert, qr=qr_data_uri(cert.verify_url), hours=hours_text,
        regular_font=font_path("Regular").as_posix(), bold_font=font_path("Bold").as_posix(),
    )


def render_pdf(cert: CertificateView, dest: IO[bytes]) -> None:
    """Write the certificate's PDF to ``dest``."""
    font_dir = ensure_fonts()
    policy = ResourceAccessPolicy(extra_roots=(font_dir,), allow_remote=False)
    status = pisa.CreatePDF(certificate_html(cert), dest=dest, encoding="utf-8", resource_policy=policy)
    if status.err:
        raise RenderError(f"certificate {cert.number}: xhtml2pdf reported {status.err} error(s)")


def pdf_bytes(cert: CertificateView) -> bytes:
    buf = io.BytesIO()
    render_pdf(cert, buf)
    return buf.getvalue()
