"""Several Core write statements sent to the database in one round trip.

An approval writes four things (the instance state, the closed and the new inbox rows, the history
rows). On PostgreSQL each statement is a round trip of its own, and each round trip costs this
process CPU and waiting on top of the server's work (bench/README.md). :class:`WriteBatch` collects the
statements with their parameters and sends them as one multi-statement string on PostgreSQL (each
statement compiled once by SQLAlchemy, its parameters converted by the column types and quoted by
psycopg2, exactly as a normal execute does); on any other database or driver it executes them one by
one.

Only for statements whose every value is given: a statement that would need a Python-side column
default or returns rows runs on its own, as usual.
"""

from __future__ import annotations

import functools
import itertools
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import UpdateBase


@functools.lru_cache(maxsize=256)
def _compiled(statement: UpdateBase, keys: tuple[str, ...], dialect: Dialect) -> tuple[SQLCompiler, dict] | None:
    """The compiled statement and the bind processors of its parameters; None when it cannot be batched."""
    # as for an executemany: nothing is returned (no implicit RETURNING of the new primary key)
    compiled = statement.compile(dialect=dialect, column_keys=list(keys), for_executemany=True)
    assert isinstance(compiled, SQLCompiler)
    if compiled.insert_prefetch or compiled.update_prefetch or compiled.returning or compiled.literal_execute_params \
            or compiled.post_compile_params:
        return None
    processors = {}
    for name, bind in compiled.binds.items():
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            processors[compiled.escaped_bind_names.get(name, name)] = processor
    return compiled, processors


class WriteBatch:
    """``add`` statements (a Core INSERT / UPDATE / DELETE built once, and one dict of parameters each),
    then ``send``: they run in the order added, in the session's transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._items: list[tuple[UpdateBase, dict[str, Any]]] = []

    def add(self, statement: UpdateBase, params: dict[str, Any]) -> None:
        self._items.append((statement, params))

    def add_rows(self, statement: UpdateBase, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            self.add(statement, row)

    def send(self) -> int:
        """Run the statements; returns the row count of the last one."""
        items, self._items = self._items, []
        if not items:
            return 0
        connection = self.session.connection()
        dialect = connection.dialect
        if (dialect.name, dialect.driver) != ("postgresql", "psycopg2") or len(items) == 1:
            return _one_by_one(self.session, items)
        from psycopg2.extensions import encodings

        dbapi_connection = connection.connection.dbapi_connection
        encoding = encodings[dbapi_connection.encoding]  # type: ignore[union-attr]
        parts = []
        cursor = dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            for statement, params in items:
                found = _compiled(statement, tuple(sorted(params)), dialect)
                if found is None:
                    return _one_by_one(self.session, items)
                compiled, processors = found
                values = compiled.construct_params(params)
                for name, processor in processors.items():
                    if name in values:
                        values[name] = processor(values[name])
                parts.append(cursor.mogrify(compiled.string, values).decode(encoding))
        finally:
            cursor.close()
        result = connection.exec_driver_sql(";\n".join(parts), execution_options={"no_parameters": True})
        return result.rowcount


def _one_by_one(session: Session, items: list[tuple[UpdateBase, dict[str, Any]]]) -> int:
    """Execute the statements in order, consecutive rows of one statement as one executemany."""
    rowcount = 0
    connection = session.connection()
    for statement, group in itertools.groupby(items, key=lambda item: item[0]):
        rows = [params for _statement, params in group]
        rowcount = connection.execute(statement, rows if len(rows) > 1 else rows[0]).rowcount
    return rowcount
