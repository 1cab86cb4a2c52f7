"""The organisation picker: browse the tree one level at a time, or search active organisations by
name or USCC, at province scale (tens of thousands of organisations).

Only *active* organisations are listed, and only public organisation facts (id, name, kind, region,
the names on the way from the root); never anyone's personal data.

Search: a name *prefix* match comes first and is served by ``ix_organisation_name_prefix`` (on
PostgreSQL a ``varchar_pattern_ops`` btree, so ``LIKE 'q%'`` is an index range scan whatever the
database collation); when the prefix matches fewer than the limit, the rest are organisations whose
name merely *contains* the text (a bounded scan of one table; fine for ~50,000 rows). An 18-character
unified social credit code is matched exactly (unique index). Browsing lists the active children of
one organisation in id order, ``limit`` at a time, continued with the keyset cursor ``after`` (the last
id seen).

Without JavaScript the picker posts a free-text ``<field>_lookup`` (name or USCC) which
:func:`resolve_lookups` turns into the id field, or into a field error when nothing or more than
one organisation matches.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, not_, select

from app.accounts.models import Organisation, OrgKind, OrgStatus
from app.core.validators import whole_number
from app.extensions import db

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
_USCC = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")


def parse_kinds(values: Iterable[str]) -> tuple[OrgKind, ...]:
    """Kinds from ``kind=a&kind=b`` or ``kind=a,b``; unknown names are ignored."""
    known = {k.value: k for k in OrgKind}
    out: list[OrgKind] = []
    for value in values:
        for part in str(value).split(","):
            kind = known.get(part.strip())
            if kind is not None and kind not in out:
                out.append(kind)
    return tuple(out)


def clamp_limit(value: Any, default: int = DEFAULT_LIMIT) -> int:
    text = str(value).strip() if value is not None else ""
    number = whole_number(text)
    return max(1, min(number, MAX_LIMIT)) if number is not None else default


def _active(kinds: Sequence[OrgKind]) -> Select:
    stmt = select(Organisation).where(Organisation.status == OrgStatus.ACTIVE)
    if kinds:
        stmt = stmt.where(Organisation.kind.in_(list(kinds)))
    return stmt


def search(q: str, kinds: Sequence[OrgKind] = (), limit: int = DEFAULT_LIMIT) -> tuple[list[Organisation], bool]:
    """Active organisations whose name starts with, then contains, ``q`` (or whose USCC is ``q``).
    Returns at most ``limit`` rows and whether there are more."""
    q = q.strip()[:50]
    if not q:
        return [], False
    if _USCC.match(q.upper()):
        rows = list(db.session.scalars(_active(kinds).where(Organisation.uscc == q.upper()).limit(1)))
        if rows:
            return rows, False
    prefix = Organisation.name.startswith(q, autoescape=True)
    rows = list(db.session.scalars(_active(kinds).where(prefix)
                                   .order_by(Organisation.name, Organisation.id).limit(limit + 1)))
    if len(rows) <= limit:
        rows += db.session.scalars(_active(kinds).where(Organisation.name.contains(q, autoescape=True), not_(prefix))
                                   .order_by(Organisation.name, Organisation.id).limit(limit + 1 - len(rows)))
    return rows[:limit], len(rows) > limit


def children(parent_id: int | None, kinds: Sequence[OrgKind] = (), limit: int = DEFAULT_LIMIT,
             after: int | None = None) -> tuple[list[Organisation], bool]:
    """Active children of ``parent_id`` (roots when None) in id order after the cursor ``after``.
    The children of an organisation that is not active are not listed."""
    stmt = _active(kinds)
    if parent_id is None:
        stmt = stmt.where(Organisation.parent_id.is_(None))
    else:
        parent = db.session.get(Organisation, parent_id)
        if parent is None or parent.status != OrgStatus.ACTIVE:
            return [], False
        stmt = stmt.where(Organisation.parent_id == parent_id)
    return _page(stmt, limit, after)


def of_kinds(kinds: Sequence[OrgKind], limit: int = DEFAULT_LIMIT, after: int | None = None
             ) -> tuple[list[Organisation], bool]:
    """Every active organisation of the kinds, in id order (keyset paged)."""
    return _page(_active(kinds), limit, after)


def _page(stmt: Select, limit: int, after: int | None) -> tuple[list[Organisation], bool]:
    if after is not None:
        stmt = stmt.where(Organisation.id > after)
    rows = list(db.session.scalars(stmt.order_by(Organisation.id).limit(limit + 1)))
    return rows[:limit], len(rows) > limit


@dataclass(frozen=True)
class Described:
    org: Organisation
    path: list[str]
    has_children: bool


def describe(rows: Sequence[Organisation]) -> list[Described]:
    """Each organisation with the names from the root down to it and whether it has active children
    (two queries for the whole page)."""
    ancestor_ids = {a for o in rows for a in o.ancestor_ids()}
    names: dict[int, str] = {}
    if ancestor_ids:
        named = select(Organisation.id, Organisation.name).where(Organisation.id.in_(ancestor_ids))
        names = {i: n for i, n in db.session.execute(named)}
    ids = [o.id for o in rows]
    parents: set[int] = set()
    if ids:
        parents = set(db.session.scalars(select(Organisation.parent_id)
                                         .where(Organisation.parent_id.in_(ids),
                                                Organisation.status == OrgStatus.ACTIVE)
                                         .group_by(Organisation.parent_id)))
    return [Described(o, [names[a] for a in o.ancestor_ids() if a in names] + [o.name], o.id in parents)
            for o in rows]


def choice(org_id: Any) -> dict[str, Any] | None:
    """The chosen organisation for re-showing a form: id, name and full path (None when unknown)."""
    text = str(org_id).strip() if org_id is not None else ""
    org_pk = whole_number(text)
    org = db.session.get(Organisation, org_pk) if org_pk is not None else None
    if org is None:
        return None
    d = describe([org])[0]
    return {"id": org.id, "name": org.name, "path": " / ".join(d.path)}


# --------------------------------------------------------------------------- no-JavaScript fallback

LOOKUP_SUFFIX = "_lookup"


def resolve(text: str, kinds: Sequence[OrgKind]) -> tuple[Organisation | None, str | None]:
    """(organisation, None) for a name or USCC naming exactly one active organisation of the kinds,
    else (None, a message saying what to do)."""
    text = text.strip()[:200]
    if _USCC.match(text.upper()):
        org = db.session.scalar(_active(kinds).where(Organisation.uscc == text.upper()))
        return (org, None) if org else (None, "未找到该统一社会信用代码对应的单位，请核对后重新填写")
    exact = list(db.session.scalars(_active(kinds).where(Organisation.name == text).limit(2)))
    if len(exact) == 1:
        return exact[0], None
    rows = list(db.session.scalars(_active(kinds).where(Organisation.name.contains(text, autoescape=True))
                                   .order_by(Organisation.name, Organisation.id).limit(6)))
    if len(rows) == 1 and not exact:
        return rows[0], None
    if not rows:
        return None, f"未找到名称包含“{text}”的单位，请核对名称或填写统一社会信用代码"
    shown = "、".join(o.name for o in rows[:5]) + ("等" if len(rows) > 5 else "")
    return None, f"找到多个单位（{shown}），请填写完整名称或统一社会信用代码"


def resolve_lookups(data: dict[str, Any], fields: dict[str, Sequence[OrgKind]]) -> dict[str, str]:
    """Turn each posted ``<field>_lookup`` text into ``data[field]`` (the organisation's id);
    return field errors for the ones that name no organisation or several."""
    errors: dict[str, str] = {}
    for field, kinds in fields.items():
        text = str(data.get(field + LOOKUP_SUFFIX) or "").strip()
        if not text:
            continue
        org, message = resolve(text, kinds)
        if org is None:
            errors[field] = message or ""
            data[field] = ""
        else:
            data[field] = str(org.id)
    return errors

