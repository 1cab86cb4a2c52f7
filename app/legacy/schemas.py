"""What the legacy data API reads and answers (marshmallow): input ``XArgs``, output ``XSchema``."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.api.schemas import sort_field
from app.core.models import api_time
from app.core.validators import MAX_PAGE, mask_id_number

from .models import CLAIM_METHODS
from .services import CERTIFICATE_DEFAULT_SORT, CERTIFICATE_SORTS, RECORD_DEFAULT_SORT, RECORD_SORTS


class ClaimPersonArgs(Schema):
    name = fields.String(required=True, validate=validate.Length(max=100))
    id_number = fields.String(required=True, validate=validate.Length(max=18))


class ClaimArgs(Schema):
    """历史信息绑定: ``direct`` (the unit's own name and code), ``unit_code`` (方案一) or ``people`` (方案二)."""

    unit_id = fields.Integer(
        load_default=None,
        allow_none=True,
        metadata={"description": "the actor's employer unit (optional when they have one)"},
    )
    method = fields.String(required=True, validate=validate.OneOf(list(CLAIM_METHODS)))
    old_unit_name = fields.String(load_default="", validate=validate.Length(max=200))
    old_unit_code = fields.String(load_default="", validate=validate.Length(max=32))
    people = fields.List(
        fields.Nested(ClaimPersonArgs),
        load_default=list,
        validate=validate.Length(max=3),
        metadata={"description": "method people: three people of the old unit"},
    )


class ClaimResultSchema(Schema):
    legacy_unit = fields.Function(
        lambda r: {"id": r.legacy_unit.id, "name": r.legacy_unit.name, "code": r.legacy_unit.code}
    )
    method = fields.String()
    people = fields.Function(lambda r: len(r.joined), metadata={"description": "people who are now the unit's"})
    elsewhere = fields.Function(
        lambda r: len(r.elsewhere), metadata={"description": "people employed by another unit: they stay there"}
    )
    records = fields.Integer(metadata={"description": "legacy records added to archives"})


class ClaimSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    code = fields.String()
    organisation = fields.Function(lambda u: u.claimed_by_org.name if u.claimed_by_org else None)
    method = fields.String(attribute="claim_method")
    claimed_at = fields.Function(lambda u: api_time(u.claimed_at))


class RecordQueryArgs(Schema):
    q = fields.String(
        load_default="",
        validate=validate.Length(max=50),
        metadata={"description": "name (contained) or ID number (prefix)"},
    )
    year = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1900, max=9999))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    sort = sort_field(RECORD_SORTS, RECORD_DEFAULT_SORT, "the newest year first, then by name")


class LegacyRecordSchema(Schema):
    id = fields.Integer(attribute="record.id")
    name = fields.Function(lambda r: r.person.name)
    id_number = fields.Function(lambda r: mask_id_number(r.person.id_number), metadata={"description": "masked"})
    unit = fields.String(attribute="unit_name", allow_none=True)
    year = fields.Integer(attribute="record.year")
    subject_type = fields.String(attribute="record.subject_type")
    course_name = fields.String(attribute="record.course_name")
    hours = fields.Function(lambda r: float(r.record.recognised_hours))


class LegacyRecordPageSchema(Schema):
    items = fields.List(fields.Nested(LegacyRecordSchema))
    total = fields.Integer()


class CertificateQueryArgs(Schema):
    q = fields.String(
        load_default="",
        validate=validate.Length(max=50),
        metadata={"description": "name (contained), ID number (prefix) or certificate number"},
    )
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    sort = sort_field(CERTIFICATE_SORTS, CERTIFICATE_DEFAULT_SORT, "by name, then the newest year first")


class LegacyCertificateSchema(Schema):
    number = fields.String(metadata={"description": "the old system's certificate number"})
    year = fields.Integer()
    name = fields.Function(lambda r: r.person.name)
    id_number = fields.Function(lambda r: mask_id_number(r.person.id_number), metadata={"description": "masked"})
    old_unit = fields.String(attribute="unit_name")
    hours = fields.Function(lambda r: {k: float(v) for k, v in r.hours.items()})
    pdf_url = fields.Function(lambda r: f"/api/v1/legacy/certificates/{r.number}/pdf")


class LegacyCertificatePageSchema(Schema):
    items = fields.List(fields.Nested(LegacyCertificateSchema))
    total = fields.Integer()


SCHEMAS = {
    "LegacyClaimArgs": ClaimArgs,
    "LegacyClaimResult": ClaimResultSchema,
    "LegacyClaim": ClaimSchema,
    "LegacyCertificate": LegacyCertificateSchema,
    "LegacyCertificatePage": LegacyCertificatePageSchema,
    "LegacyRecordPage": LegacyRecordPageSchema,
}
