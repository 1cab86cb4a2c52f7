"""What the people API reads and answers (marshmallow): input ``XArgs``, output ``XSchema``."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.api.schemas import sort_field
from app.core.validators import MAX_PAGE, mask_id_number, mask_mobile
from app.people.queries import DEFAULT_SORT, SORTS


class PeopleQueryArgs(Schema):
    q = fields.String(load_default="", metadata={"description": "name (contained) or ID number (prefix)"})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=200))
    name = fields.String(load_default="")
    id_number = fields.String(load_default="")
    title_level = fields.String(load_default="")
    education = fields.String(load_default="")
    gender = fields.String(load_default="")
    work_start_from = fields.String(load_default="", metadata={"description": "YYYY-MM-DD"})
    work_start_to = fields.String(load_default="", metadata={"description": "YYYY-MM-DD"})
    unit_id = fields.String(load_default="")
    department_id = fields.String(load_default="")
    sort = sort_field(SORTS, DEFAULT_SORT, "the order people were added in")


class PersonListItemSchema(Schema):
    """One row of GET /people (the contract: id_number masked, name, organisation, title_level, education)."""

    id = fields.Integer(attribute="person.id")
    id_number = fields.Function(lambda row: mask_id_number(row.person.id_number), metadata={"description": "masked"})
    name = fields.String(attribute="person.name")
    organisation = fields.String(attribute="unit_name", allow_none=True)
    department = fields.String(attribute="department_name", allow_none=True)
    gender = fields.String(attribute="person.gender", allow_none=True)
    title_level = fields.String(attribute="person.title_level", allow_none=True)
    education = fields.String(attribute="person.education", allow_none=True)


class PersonPageSchema(Schema):
    items = fields.List(fields.Nested(PersonListItemSchema))
    total = fields.Integer()


class PersonSchema(Schema):
    """One person in full (their ID number whole: a manager's task needs it); phone masked."""

    id = fields.Integer()
    name = fields.String()
    id_number = fields.String()
    gender = fields.String(allow_none=True)
    birth_date = fields.Date(allow_none=True)
    ethnicity = fields.String(allow_none=True)
    native_place = fields.String(allow_none=True)
    education = fields.String(allow_none=True)
    degree = fields.String(allow_none=True)
    school = fields.String(allow_none=True)
    major = fields.String(allow_none=True)
    graduation_date = fields.Date(allow_none=True)
    work_start_date = fields.Date(allow_none=True)
    title_series = fields.String(allow_none=True)
    title_level = fields.String(allow_none=True)
    qualification_date = fields.Date(allow_none=True)
    phone = fields.Function(lambda p: mask_mobile(p.phone) if p.phone else None, metadata={"description": "masked"})
    email = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    unit_id = fields.Integer(allow_none=True)
    organisation = fields.Function(lambda p: p.unit.name if p.unit else None)
    department_id = fields.Integer(allow_none=True)
    has_account = fields.Function(lambda p: p.user_id is not None)


class PersonArgs(Schema):
    """Add (POST, unit_id required) or edit (PATCH, any subset); values are checked by app.people.fields."""

    unit_id = fields.Integer(load_default=None)
    department_id = fields.Raw(allow_none=True)
    name = fields.String()
    id_number = fields.String()
    gender = fields.String()
    birth_date = fields.String(allow_none=True)
    ethnicity = fields.String(allow_none=True)
    native_place = fields.String(allow_none=True)
    education = fields.String(allow_none=True)
    degree = fields.String(allow_none=True)
    school = fields.String(allow_none=True)
    major = fields.String(allow_none=True)
    graduation_date = fields.String(allow_none=True)
    work_start_date = fields.String(allow_none=True)
    title_series = fields.String(allow_none=True)
    title_level = fields.String(allow_none=True)
    qualification_date = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    address = fields.String(allow_none=True)


class TemporaryPasswordSchema(Schema):
    user_id = fields.Integer()
    login = fields.String()
    temporary_password = fields.String(metadata={"description": "shown once; changed at the next sign-in"})


SCHEMAS = {"PersonListItem": PersonListItemSchema, "PersonPage": PersonPageSchema, "Person": PersonSchema,
           "PersonArgs": PersonArgs, "PersonTemporaryPassword": TemporaryPasswordSchema}
