"""Training archive (培训档案) and annual verification (年度验证).

The archive of a person and year is every recognised credit record (whatever its source), the
hours credited by subject type and the verdict of the annual rule. The rule is the DMN table
``processes/annual_verification.dmn``: it answers what the person needs for the year (minimum
hours, professional share, daily cap); this module compares the credited hours with it and says,
in Chinese sentences, what is missing. Results are stored per person and year
(:class:`AnnualVerification`) so lists can filter on them; they are refreshed whenever hours
are recorded and on a recount. Functions never commit.
"""

from __future__ import annotations

from .hours import (  # noqa: F401
    RecordLine,
    credit,
    fmt_hours,
    known_days,
)
from .precheck import (  # noqa: F401
    Precheck,
    precheck,
)
from .recount import (  # noqa: F401
    recount,
)
from .rule import (  # noqa: F401
    DECISION_KEY,
    FAIL_LABEL,
    NOT_DUE_LABEL,
    PASS_LABEL,
    PENDING_LABEL,
    RESULT_BADGES,
    SOURCE_LABELS,
    SUBJECTS,
    TENTH,
    ZERO,
    Requirement,
    RuleUnavailable,
    requirement_for,
)
from .scope import (  # noqa: F401
    archive_for,
    can_see_person,
    person_scope_condition,
    visible_person,
    years_of,
)
from .search import (  # noqa: F401
    ArchivePage,
    ArchiveRow,
    search,
)
from .verification import (  # noqa: F401
    MISSING_ELECTIVE,
    MISSING_PROFESSIONAL,
    MISSING_PUBLIC,
    MISSING_RULE,
    MISSING_TOTAL,
    RULE_AND,
    RULE_HOURS,
    RULE_SHARE,
    YearSummary,
    add_record,
    check,
    first_due_year,
    records_for,
    shortfall,
    stored_verification,
    verdict,
    verify_after_new_record,
    verify_year,
    year_summary,
)
