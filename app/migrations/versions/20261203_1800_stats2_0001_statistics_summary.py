"""Statistics summary tables (people per unit; verifications per unit and year; credit records per unit, year and
learning form; people and completed people per unit and title) kept current by triggers in the transaction that changes a person, a stored verification or a
credit record, and filled from the existing rows

Revision ID: stats2_0001
Revises: training2_0001
Create Date: 2026-12-03 18:00:00

The triggers add a row's contribution with an upsert and take it away with an UPDATE (never inserting a
negative row). A person moving to another unit takes their verifications and credit records along.
``app.statistics.summary.recount`` rebuilds the tables the same way the end of :func:`upgrade` fills them.
"""
import sqlalchemy as sa
from alembic import op

revision = "stats2_0001"
down_revision = "training2_0001"
branch_labels = None
depends_on = None

HOURS = ("public_hours", "professional_hours", "elective_hours", "total_hours")
YEAR_COLUMNS = ("verifications", "completed", *HOURS)


def _upsert(table: str, key: str, columns: tuple[str, ...]) -> str:
    sets = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in columns)
    return f"ON CONFLICT ({key}) DO UPDATE SET {sets}"


# ----------------------------------------------------------------- statements shared by both databases


def add_people(unit: str) -> str:
    return (f"INSERT INTO statistics_unit_people (unit_id, people) SELECT {unit}, 1 WHERE {unit} IS NOT NULL "
            + _upsert("statistics_unit_people", "unit_id", ("people",)))


def take_people(unit: str) -> str:
    return f"UPDATE statistics_unit_people SET people = people - 1 WHERE unit_id = {unit}"


def add_person_years(person: str, unit: str) -> str:
    """All stored verifications of a person, added to a unit."""
    return (f"INSERT INTO statistics_unit_year (unit_id, year, {', '.join(YEAR_COLUMNS)}) "
            f"SELECT {unit}, a.year, count(*), sum(CASE WHEN a.verified THEN 1 ELSE 0 END), "
            + ", ".join(f"sum(a.{h})" for h in HOURS)
            + f" FROM annual_verification a WHERE a.person_id = {person} AND {unit} IS NOT NULL GROUP BY a.year "
            + _upsert("statistics_unit_year", "unit_id, year", YEAR_COLUMNS))


def take_person_years(person: str, unit: str) -> str:
    def sub(expr: str) -> str:
        return (f"(SELECT coalesce(sum({expr}), 0) FROM annual_verification a WHERE a.person_id = {person} "
                f"AND a.year = statistics_unit_year.year)")
    sets = [f"verifications = verifications - {sub('1')}",
            f"completed = completed - {sub('CASE WHEN a.verified THEN 1 ELSE 0 END')}",
            *[f"{h} = {h} - {sub('a.' + h)}" for h in HOURS]]
    return (f"UPDATE statistics_unit_year SET {', '.join(sets)} WHERE unit_id = {unit} "
            f"AND year IN (SELECT year FROM annual_verification WHERE person_id = {person})")


def add_person_forms(person: str, unit: str) -> str:
    return ("INSERT INTO statistics_unit_form (unit_id, year, learning_form, records, hours) "
            f"SELECT {unit}, c.year, coalesce(c.learning_form, 'other'), count(*), sum(c.recognised_hours) "
            f"FROM credit_record c WHERE c.person_id = {person} AND {unit} IS NOT NULL "
            "GROUP BY c.year, coalesce(c.learning_form, 'other') "
            + _upsert("statistics_unit_form", "unit_id, year, learning_form", ("records", "hours")))


def take_person_forms(person: str, unit: str) -> str:
    def sub(expr: str) -> str:
        return (f"(SELECT coalesce(sum({expr}), 0) FROM credit_record c WHERE c.person_id = {person} "
                "AND c.year = statistics_unit_form.year "
                "AND coalesce(c.learning_form, 'other') = statistics_unit_form.learning_form)")
    return (f"UPDATE statistics_unit_form SET records = records - {sub('1')}, "
            f"hours = hours - {sub('c.recognised_hours')} WHERE unit_id = {unit} "
            f"AND year IN (SELECT year FROM credit_record WHERE person_id = {person})")


def _title(row: str) -> str:
    return f"coalesce({row}.title_series, ''), coalesce({row}.title_level, '')"


def add_title(row: str) -> str:
    """A person (``NEW``/``OLD``) counted in their unit's title row."""
    return ("INSERT INTO statistics_unit_title (unit_id, title_series, title_level, people) "
            f"SELECT {row}.unit_id, {_title(row)}, 1 WHERE {row}.unit_id IS NOT NULL "
            + _upsert("statistics_unit_title", "unit_id, title_series, title_level", ("people",)))


def take_title(row: str) -> str:
    return (f"UPDATE statistics_unit_title SET people = people - 1 WHERE unit_id = {row}.unit_id "
            f"AND title_series = coalesce({row}.title_series, '') AND title_level = coalesce({row}.title_level, '')")


def add_title_years(row: str) -> str:
    """A person's verified years, added to their unit's title rows."""
    return ("INSERT INTO statistics_unit_title_year (unit_id, year, title_series, title_level, completed) "
            f"SELECT {row}.unit_id, a.year, {_title(row)}, count(*) FROM annual_verification a "
            f"WHERE a.person_id = {row}.id AND a.verified AND {row}.unit_id IS NOT NULL GROUP BY a.year "
            + _upsert("statistics_unit_title_year", "unit_id, year, title_series, title_level", ("completed",)))


def take_title_years(row: str) -> str:
    return ("UPDATE statistics_unit_title_year SET completed = completed - 1 "
            f"WHERE unit_id = {row}.unit_id AND title_series = coalesce({row}.title_series, '') "
            f"AND title_level = coalesce({row}.title_level, '') "
            f"AND year IN (SELECT year FROM annual_verification WHERE person_id = {row}.id AND verified)")


def add_completed(row: str) -> str:
    """A verified year (``NEW``/``OLD`` of annual_verification) counted in its person's title row."""
    return ("INSERT INTO statistics_unit_title_year (unit_id, year, title_series, title_level, completed) "
            f"SELECT p.unit_id, {row}.year, {_title('p')}, 1 FROM person p "
            f"WHERE p.id = {row}.person_id AND p.unit_id IS NOT NULL AND {row}.verified "
            + _upsert("statistics_unit_title_year", "unit_id, year, title_series, title_level", ("completed",)))


def take_completed(row: str) -> str:
    return ("UPDATE statistics_unit_title_year SET completed = completed - 1 "
            f"WHERE {row}.verified AND year = {row}.year AND (unit_id, title_series, title_level) = "
            f"(SELECT unit_id, {_title('p')} FROM person p WHERE p.id = {row}.person_id)")


def _unit_of(row: str) -> str:
    return f"(SELECT unit_id FROM person WHERE id = {row}.person_id)"


def add_verification(row: str) -> str:
    return (f"INSERT INTO statistics_unit_year (unit_id, year, {', '.join(YEAR_COLUMNS)}) "
            f"SELECT p.unit_id, {row}.year, 1, CASE WHEN {row}.verified THEN 1 ELSE 0 END, "
            + ", ".join(f"{row}.{h}" for h in HOURS)
            + f" FROM person p WHERE p.id = {row}.person_id AND p.unit_id IS NOT NULL "
            + _upsert("statistics_unit_year", "unit_id, year", YEAR_COLUMNS))


def take_verification(row: str) -> str:
    sets = ["verifications = verifications - 1",
            f"completed = completed - CASE WHEN {row}.verified THEN 1 ELSE 0 END",
            *[f"{h} = {h} - {row}.{h}" for h in HOURS]]
    return (f"UPDATE statistics_unit_year SET {', '.join(sets)} "
            f"WHERE unit_id = {_unit_of(row)} AND year = {row}.year")


def change_verification() -> str:
    """An update of a stored verification that keeps its person and year: one statement with the differences."""
    sets = ["completed = completed + CASE WHEN NEW.verified THEN 1 ELSE 0 END - CASE WHEN OLD.verified THEN 1 "
            "ELSE 0 END", *[f"{h} = {h} + NEW.{h} - OLD.{h}" for h in HOURS]]
    return (f"UPDATE statistics_unit_year SET {', '.join(sets)} "
            f"WHERE unit_id = {_unit_of('NEW')} AND year = NEW.year")


def add_record(row: str) -> str:
    return ("INSERT INTO statistics_unit_form (unit_id, year, learning_form, records, hours) "
            f"SELECT p.unit_id, {row}.year, coalesce({row}.learning_form, 'other'), 1, {row}.recognised_hours "
            f"FROM person p WHERE p.id = {row}.person_id AND p.unit_id IS NOT NULL "
            + _upsert("statistics_unit_form", "unit_id, year, learning_form", ("records", "hours")))


def take_record(row: str) -> str:
    return (f"UPDATE statistics_unit_form SET records = records - 1, hours = hours - {row}.recognised_hours "
            f"WHERE unit_id = {_unit_of(row)} AND year = {row}.year "
            f"AND learning_form = coalesce({row}.learning_form, 'other')")


# ----------------------------------------------------------------- the triggers of each database

PG_FUNCTIONS = {
    "statistics_person_changed": f"""
        IF TG_OP <> 'INSERT' THEN
            IF OLD.unit_id IS NOT NULL THEN
                {take_people('OLD.unit_id')};
                {take_person_years('OLD.id', 'OLD.unit_id')};
                {take_person_forms('OLD.id', 'OLD.unit_id')};
            END IF;
        END IF;
        IF TG_OP <> 'DELETE' THEN
            IF NEW.unit_id IS NOT NULL THEN
                {add_people('NEW.unit_id')};
                {add_person_years('NEW.id', 'NEW.unit_id')};
                {add_person_forms('NEW.id', 'NEW.unit_id')};
            END IF;
        END IF;""",
    "statistics_title_changed": f"""
        IF TG_OP <> 'INSERT' THEN
            IF OLD.unit_id IS NOT NULL THEN
                {take_title('OLD')};
                {take_title_years('OLD')};
            END IF;
        END IF;
        IF TG_OP <> 'DELETE' THEN
            IF NEW.unit_id IS NOT NULL THEN
                {add_title('NEW')};
                {add_title_years('NEW')};
            END IF;
        END IF;""",
    "statistics_verification_changed": f"""
        IF TG_OP <> 'INSERT' THEN
            {take_completed('OLD')};
        END IF;
        IF TG_OP <> 'DELETE' THEN
            {add_completed('NEW')};
        END IF;
        IF TG_OP = 'UPDATE' THEN
            IF OLD.person_id = NEW.person_id AND OLD.year = NEW.year THEN
                {change_verification()};
                RETURN NULL;
            END IF;
        END IF;
        IF TG_OP <> 'INSERT' THEN
            {take_verification('OLD')};
        END IF;
        IF TG_OP <> 'DELETE' THEN
            {add_verification('NEW')};
        END IF;""",
    "statistics_record_changed": f"""
        IF TG_OP <> 'INSERT' THEN
            {take_record('OLD')};
        END IF;
        IF TG_OP <> 'DELETE' THEN
            {add_record('NEW')};
        END IF;""",
}

PG_TRIGGERS = (
    "CREATE TRIGGER trg_statistics_person AFTER INSERT OR DELETE ON person "
    "FOR EACH ROW EXECUTE FUNCTION statistics_person_changed()",
    "CREATE TRIGGER trg_statistics_person_unit AFTER UPDATE OF unit_id ON person "
    "FOR EACH ROW WHEN (OLD.unit_id IS DISTINCT FROM NEW.unit_id) EXECUTE FUNCTION statistics_person_changed()",
    "CREATE TRIGGER trg_statistics_title AFTER INSERT OR DELETE ON person "
    "FOR EACH ROW EXECUTE FUNCTION statistics_title_changed()",
    "CREATE TRIGGER trg_statistics_title_change AFTER UPDATE OF unit_id, title_series, title_level ON person "
    "FOR EACH ROW WHEN (OLD.unit_id IS DISTINCT FROM NEW.unit_id OR OLD.title_series IS DISTINCT FROM "
    "NEW.title_series OR OLD.title_level IS DISTINCT FROM NEW.title_level) "
    "EXECUTE FUNCTION statistics_title_changed()",
    "CREATE TRIGGER trg_statistics_verification AFTER INSERT OR UPDATE OR DELETE ON annual_verification "
    "FOR EACH ROW EXECUTE FUNCTION statistics_verification_changed()",
    "CREATE TRIGGER trg_statistics_record AFTER INSERT OR DELETE OR UPDATE OF person_id, year, learning_form, "
    "recognised_hours ON credit_record FOR EACH ROW EXECUTE FUNCTION statistics_record_changed()",
)


def _sqlite(name: str, event: str, table: str, when: str | None, statements: list[str]) -> str:
    body = ";\n".join(statements)
    condition = f" WHEN {when}" if when else ""
    return f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW{condition} BEGIN\n{body};\nEND"


SQLITE_TRIGGERS = (
    _sqlite("trg_statistics_person_insert", "INSERT", "person", "NEW.unit_id IS NOT NULL",
            [add_people("NEW.unit_id"), add_person_years("NEW.id", "NEW.unit_id"),
             add_person_forms("NEW.id", "NEW.unit_id")]),
    _sqlite("trg_statistics_person_delete", "DELETE", "person", "OLD.unit_id IS NOT NULL",
            [take_people("OLD.unit_id"), take_person_years("OLD.id", "OLD.unit_id"),
             take_person_forms("OLD.id", "OLD.unit_id")]),
    _sqlite("trg_statistics_person_unit", "UPDATE OF unit_id", "person", "OLD.unit_id IS NOT NEW.unit_id",
            [take_people("OLD.unit_id"), take_person_years("OLD.id", "OLD.unit_id"),
             take_person_forms("OLD.id", "OLD.unit_id"), add_people("NEW.unit_id"),
             add_person_years("NEW.id", "NEW.unit_id"), add_person_forms("NEW.id", "NEW.unit_id")]),
    _sqlite("trg_statistics_title_insert", "INSERT", "person", "NEW.unit_id IS NOT NULL",
            [add_title("NEW"), add_title_years("NEW")]),
    _sqlite("trg_statistics_title_delete", "DELETE", "person", "OLD.unit_id IS NOT NULL",
            [take_title("OLD"), take_title_years("OLD")]),
    _sqlite("trg_statistics_title_change", "UPDATE OF unit_id, title_series, title_level", "person",
            "OLD.unit_id IS NOT NEW.unit_id OR OLD.title_series IS NOT NEW.title_series "
            "OR OLD.title_level IS NOT NEW.title_level",
            [take_title("OLD"), take_title_years("OLD"), add_title("NEW"), add_title_years("NEW")]),
    _sqlite("trg_statistics_verification_insert", "INSERT", "annual_verification", None,
            [add_verification("NEW"), add_completed("NEW")]),
    _sqlite("trg_statistics_verification_delete", "DELETE", "annual_verification", None,
            [take_verification("OLD"), take_completed("OLD")]),
    _sqlite("trg_statistics_verification_update", "UPDATE", "annual_verification", None,
            [take_verification("OLD"), take_completed("OLD"), add_verification("NEW"), add_completed("NEW")]),
    _sqlite("trg_statistics_record_insert", "INSERT", "credit_record", None, [add_record("NEW")]),
    _sqlite("trg_statistics_record_delete", "DELETE", "credit_record", None, [take_record("OLD")]),
    _sqlite("trg_statistics_record_update", "UPDATE OF person_id, year, learning_form, recognised_hours",
            "credit_record", None, [take_record("OLD"), add_record("NEW")]),
)

SQLITE_TRIGGER_NAMES = ("trg_statistics_person_insert", "trg_statistics_person_delete", "trg_statistics_person_unit",
                        "trg_statistics_title_insert", "trg_statistics_title_delete", "trg_statistics_title_change",
                        "trg_statistics_verification_insert", "trg_statistics_verification_delete",
                        "trg_statistics_verification_update", "trg_statistics_record_insert",
                        "trg_statistics_record_delete", "trg_statistics_record_update")

#: Fill (or rebuild) the tables from the rows (app.statistics.summary.recount runs the same).
FILL = (
    "INSERT INTO statistics_unit_people (unit_id, people) SELECT unit_id, count(*) FROM person "
    "WHERE unit_id IS NOT NULL GROUP BY unit_id",
    f"INSERT INTO statistics_unit_year (unit_id, year, {', '.join(YEAR_COLUMNS)}) "
    "SELECT p.unit_id, a.year, count(*), sum(CASE WHEN a.verified THEN 1 ELSE 0 END), "
    + ", ".join(f"sum(a.{h})" for h in HOURS)
    + " FROM annual_verification a JOIN person p ON p.id = a.person_id WHERE p.unit_id IS NOT NULL "
      "GROUP BY p.unit_id, a.year",
    "INSERT INTO statistics_unit_form (unit_id, year, learning_form, records, hours) "
    "SELECT p.unit_id, c.year, coalesce(c.learning_form, 'other'), count(*), sum(c.recognised_hours) "
    "FROM credit_record c JOIN person p ON p.id = c.person_id WHERE p.unit_id IS NOT NULL "
    "GROUP BY p.unit_id, c.year, coalesce(c.learning_form, 'other')",
    "INSERT INTO statistics_unit_title (unit_id, title_series, title_level, people) "
    "SELECT unit_id, coalesce(title_series, ''), coalesce(title_level, ''), count(*) FROM person "
    "WHERE unit_id IS NOT NULL GROUP BY unit_id, coalesce(title_series, ''), coalesce(title_level, '')",
    "INSERT INTO statistics_unit_title_year (unit_id, year, title_series, title_level, completed) "
    "SELECT p.unit_id, a.year, coalesce(p.title_series, ''), coalesce(p.title_level, ''), count(*) "
    "FROM annual_verification a JOIN person p ON p.id = a.person_id WHERE p.unit_id IS NOT NULL AND a.verified "
    "GROUP BY p.unit_id, a.year, coalesce(p.title_series, ''), coalesce(p.title_level, '')",
)


def upgrade():
    op.create_table("statistics_unit_people",
    sa.Column("unit_id", sa.Integer(), nullable=False),
    sa.Column("people", sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(["unit_id"], ["organisation.id"],
                            name=op.f("fk_statistics_unit_people_unit_id_organisation"),
                            ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("unit_id", name=op.f("pk_statistics_unit_people"))
    )
    op.create_table("statistics_unit_year",
    sa.Column("unit_id", sa.Integer(), nullable=False),
    sa.Column("year", sa.Integer(), nullable=False),
    sa.Column("verifications", sa.Integer(), nullable=False),
    sa.Column("completed", sa.Integer(), nullable=False),
    sa.Column("public_hours", sa.Numeric(precision=14, scale=1), nullable=False),
    sa.Column("professional_hours", sa.Numeric(precision=14, scale=1), nullable=False),
    sa.Column("elective_hours", sa.Numeric(precision=14, scale=1), nullable=False),
    sa.Column("total_hours", sa.Numeric(precision=14, scale=1), nullable=False),
    sa.ForeignKeyConstraint(["unit_id"], ["organisation.id"], name=op.f("fk_statistics_unit_year_unit_id_organisation"),
                            ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("unit_id", "year", name=op.f("pk_statistics_unit_year"))
    )
    op.create_index("ix_statistics_unit_year_year", "statistics_unit_year", ["year", "unit_id"], unique=False)
    op.create_table("statistics_unit_form",
    sa.Column("unit_id", sa.Integer(), nullable=False),
    sa.Column("year", sa.Integer(), nullable=False),
    sa.Column("learning_form", sa.String(length=32), nullable=False),
    sa.Column("records", sa.Integer(), nullable=False),
    sa.Column("hours", sa.Numeric(precision=14, scale=1), nullable=False),
    sa.ForeignKeyConstraint(["unit_id"], ["organisation.id"], name=op.f("fk_statistics_unit_form_unit_id_organisation"),
                            ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("unit_id", "year", "learning_form", name=op.f("pk_statistics_unit_form"))
    )
    op.create_index("ix_statistics_unit_form_year", "statistics_unit_form", ["year", "unit_id"], unique=False)
    op.create_table("statistics_unit_title",
    sa.Column("unit_id", sa.Integer(), nullable=False),
    sa.Column("title_series", sa.String(length=100), nullable=False),
    sa.Column("title_level", sa.String(length=32), nullable=False),
    sa.Column("people", sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(["unit_id"], ["organisation.id"], name=op.f("fk_statistics_unit_title_unit_id_organisation"),
                            ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("unit_id", "title_series", "title_level", name=op.f("pk_statistics_unit_title"))
    )
    op.create_table("statistics_unit_title_year",
    sa.Column("unit_id", sa.Integer(), nullable=False),
    sa.Column("year", sa.Integer(), nullable=False),
    sa.Column("title_series", sa.String(length=100), nullable=False),
    sa.Column("title_level", sa.String(length=32), nullable=False),
    sa.Column("completed", sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(["unit_id"], ["organisation.id"],
                            name=op.f("fk_statistics_unit_title_year_unit_id_organisation"), ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("unit_id", "year", "title_series", "title_level",
                            name=op.f("pk_statistics_unit_title_year"))
    )
    op.create_index("ix_statistics_unit_title_year_year", "statistics_unit_title_year", ["year", "unit_id"],
                    unique=False)
    if op.get_bind().dialect.name == "postgresql":
        for name, body in PG_FUNCTIONS.items():
            op.execute(f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN{body}\n"
                       "    RETURN NULL;\nEND\n$$")
        for statement in PG_TRIGGERS:
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)
    for statement in FILL:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table, trigger in (("person", "trg_statistics_person"), ("person", "trg_statistics_person_unit"),
                               ("person", "trg_statistics_title"), ("person", "trg_statistics_title_change"),
                               ("annual_verification", "trg_statistics_verification"),
                               ("credit_record", "trg_statistics_record")):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
        for name in PG_FUNCTIONS:
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    else:
        for name in SQLITE_TRIGGER_NAMES:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_index("ix_statistics_unit_title_year_year", table_name="statistics_unit_title_year")
    op.drop_table("statistics_unit_title_year")
    op.drop_table("statistics_unit_title")
    op.drop_index("ix_statistics_unit_form_year", table_name="statistics_unit_form")
    op.drop_table("statistics_unit_form")
    op.drop_index("ix_statistics_unit_year_year", table_name="statistics_unit_year")
    op.drop_table("statistics_unit_year")
    op.drop_table("statistics_unit_people")
