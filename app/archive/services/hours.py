"""Hours: part of the archive services (see the package docstring)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, Decimal
from fractions import Fraction
from typing import Any

from app.archive.models import LEARNING_FORMS, SUBJECT_TYPES, CreditRecord

from .rule import SOURCE_LABELS, TENTH


def fmt_hours(value: Decimal | Fraction | float | int) -> str:
    """12 → "12", 12.5 → "12.5" (tenths, rounded up so a shortfall is never understated)."""
    d = Decimal(value.numerator) / Decimal(value.denominator) if isinstance(value, Fraction) else Decimal(str(value))
    d = d.quantize(TENTH, rounding=ROUND_CEILING)
    return f"{d:f}".rstrip("0").rstrip(".") if "." in f"{d:f}" else f"{d:f}"


def known_days(days: Decimal | float | int | None, start: date | None, end: date | None) -> Decimal | None:
    """Training days when known: the declared number, else the calendar span of the dates."""
    if days not in (None, ""):
        return Decimal(str(days))
    if start is not None and end is not None and end >= start:
        return Decimal((end - start).days + 1)
    return None


def credit(hours: Decimal, days: Decimal | None, cap: Decimal | None) -> tuple[Decimal, bool]:
    """Hours credited for one record: at most ``cap`` per training day where days are known."""
    if cap is None or days is None or days <= 0:
        return hours, False
    limit = cap * days
    return (limit, True) if hours > limit else (hours, False)


@dataclass
class RecordLine:
    id: int | None
    source: str
    source_label: str
    source_id: int | None
    course_name: str
    subject_type: str
    subject_label: str
    learning_form: str | None
    learning_form_label: str
    start_date: date | None
    end_date: date | None
    days: Decimal | None
    institution_name: str | None
    declared_hours: Decimal
    recognised_hours: Decimal
    credited_hours: Decimal
    capped: bool
    #: The training class the hours come from (class records), else None.
    class_id: int | None = None
    class_name: str | None = None
    #: The online learning platform (records imported from online results), else None.
    platform: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "source": self.source, "source_label": self.source_label, "source_id": self.source_id,
            "course_name": self.course_name, "subject_type": self.subject_type,
            "learning_form": self.learning_form,
            "start_date": self.start_date.isoformat() if self.start_date else None,
            "end_date": self.end_date.isoformat() if self.end_date else None,
            "days": float(self.days) if self.days is not None else None,
            "institution_name": self.institution_name,
            "declared_hours": float(self.declared_hours), "recognised_hours": float(self.recognised_hours),
            "credited_hours": float(self.credited_hours), "capped": self.capped,
            "class_id": self.class_id, "class_name": self.class_name, "platform": self.platform,
        }


def _line(record: CreditRecord, cap: Decimal | None) -> RecordLine:
    days = known_days(record.days, record.start_date, record.end_date)
    credited, capped = credit(Decimal(record.recognised_hours), days, cap)
    return RecordLine(
        id=record.id, source=record.source, source_label=SOURCE_LABELS.get(record.source, record.source),
        source_id=record.source_id, course_name=record.course_name, subject_type=record.subject_type,
        subject_label=SUBJECT_TYPES.get(record.subject_type, record.subject_type),
        learning_form=record.learning_form,
        learning_form_label=LEARNING_FORMS.get(record.learning_form or "", record.learning_form or ""),
        start_date=record.start_date, end_date=record.end_date, days=days,
        institution_name=record.institution_name, declared_hours=Decimal(record.declared_hours),
        recognised_hours=Decimal(record.recognised_hours), credited_hours=credited, capped=capped,
        class_id=record.class_id, class_name=record.class_name, platform=record.platform,
    )

