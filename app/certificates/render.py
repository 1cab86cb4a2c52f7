"""Certificate PDFs: an HTML template rendered by xhtml2pdf with the embedded Noto Sans SC font.

The font family is registered with ReportLab once per process (:func:`register_fonts`); the
document reads nothing from disk (the QR code is a ``data:`` URI), so its resource policy
allows no local or remote reads at all.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from decimal import Decimal
from typing import IO

import segno
from flask import render_template
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfmetrics import registerFontFamily
from reportlab.pdfbase.ttfonts import TTFont
from xhtml2pdf import default as xhtml2pdf_default
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
    #: A legacy certificate (历史证书, app.legacy): the old system's number, no QR code, no verification line.
    legacy: bool = False


class RenderError(RuntimeError):
    pass


def qr_data_uri(url: str) -> str:
    """The verification URL as a PNG QR code (``data:`` URIs need no resource policy)."""
    buf = io.BytesIO()
    segno.make(url, error="m", micro=False).save(buf, kind="png", scale=4, border=2)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


FAMILY = "CertCJK"


def register_fonts() -> None:
    """Register the font family with ReportLab once per process.

    A ``@font-face`` rule would work too, but xhtml2pdf then hashes both 10.6 MB font files on
    every render (about half the render time). ReportLab keeps registered fonts and family
    mappings across renders; xhtml2pdf resolves a family through its DEFAULT_FONT table, copied
    into each document, so the family is added there as well."""
    if FAMILY in pdfmetrics.getRegisteredFontNames() and xhtml2pdf_default.DEFAULT_FONT.get(FAMILY.lower()):
        return
    ensure_fonts()
    pdfmetrics.registerFont(TTFont(FAMILY, str(font_path("Regular"))))
    pdfmetrics.registerFont(TTFont(f"{FAMILY}-Bold", str(font_path("Bold"))))
    registerFontFamily(FAMILY, normal=FAMILY, bold=f"{FAMILY}-Bold", italic=FAMILY, boldItalic=f"{FAMILY}-Bold")
    xhtml2pdf_default.DEFAULT_FONT[FAMILY.lower()] = FAMILY


def certificate_html(cert: CertificateView) -> str:
    qr = qr_data_uri(cert.verify_url) if cert.verify_url else None
    return render_template("certificates/certificate_pdf.html", cert=cert, qr=qr, family=FAMILY)


def render_pdf(cert: CertificateView, dest: IO[bytes]) -> None:
    """Write the certificate's PDF to ``dest``."""
    register_fonts()
    policy = ResourceAccessPolicy(base_dir=None, allow_remote=False)  # data: URIs only (the QR code)
    status = pisa.CreatePDF(certificate_html(cert), dest=dest, encoding="utf-8", resource_policy=policy)
    if status.err:
        raise RenderError(f"certificate {cert.number}: xhtml2pdf reported {status.err} error(s)")


def pdf_bytes(cert: CertificateView) -> bytes:
    buf = io.BytesIO()
    render_pdf(cert, buf)
    return buf.getvalue()
