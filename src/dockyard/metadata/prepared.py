"""Hot-path statements: built once with SQLAlchemy, run on SQLite's DBAPI cursor.

SQLAlchemy's per-execute work (execution context, events, parameter and result processing
objects) costs about ten times what SQLite needs to run one of the registry's small
statements. A :class:`Prepared` statement is compiled once per dialect and set of parameters
into the driver's SQL and the list of (parameter, type processor) pairs, with SQLAlchemy's
public compiler API; a :class:`CursorTransaction` then runs it straight on the ``sqlite3``
cursor. On PostgreSQL the same statements go through SQLAlchemy's connection
(:class:`ConnectionTransaction`). See docs/performance.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

#: A driver-side type conversion (``None``: the value passes as it is).
Processor = Callable[[Any], Any] | None
#: A row as a tuple of column values.
Row = tuple[Any, ...]

#: Forms kept per statement; more (e.g. many IN-list lengths) start the cache afresh.
MAX_FORMS = 128

_NO_PARAMS: Mapping[str, Any] = {}


@dataclass(frozen=True, slots=True)
class _Slot:
    """Stands for element ``index`` of the list parameter ``name`` while a form is built."""

    name: str
    index: int


@dataclass(frozen=True, slots=True)
class _Form:
    """A statement's SQL for one dialect and parameter shape, and how to fill it."""

    sql: str
    #: Per ``?``: the parameter's name (None: a value built into the statement, in ``index``'s
    #: place), its list index (IN lists) or None, its processor.
    slots: tuple[tuple[str | None, Any, Processor], ...]
    #: Per result column: its processor.
    results: tuple[Processor, ...]

    def values(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        """The positional values for ``params``."""
        out = []
        for name, index, process in self.slots:
            if name is None:
                value = index
            else:
                value = params[name] if index is None else params[name][index]
            out.append(value if process is None or value is None else process(value))
        return tuple(out)

    def row(self, raw: Sequence[Any]) -> Row:
        """A fetched row with its columns converted (datetimes, booleans)."""
        if not any(self.results):
            return tuple(raw)
        return tuple(
            value if process is None or value is None else process(value)
            for value, process in zip(raw, self.results, strict=True)
        )


class Prepared:
    """A statement built once; its driver SQL is compiled once per dialect and shape."""

    __slots__ = ("_forms", "statement")

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._forms: dict[tuple[object, ...], _Form] = {}

    def form(self, dialect: Dialect, params: Mapping[str, Any]) -> _Form:
        """The compiled form for ``params``' names (and IN-list lengths)."""
        key = (
            dialect.name,
            *(
                (name, len(value) if isinstance(value, list | tuple) else -1)
                for name, value in params.items()
            ),
        )
        form = self._forms.get(key)
        if form is None:
            form = self._compile(dialect, params)
            if len(self._forms) >= MAX_FORMS:
                self._forms.clear()
            self._forms[key] = form
        return form

    def _compile(self, dialect: Dialect, params: Mapping[str, Any]) -> _Form:
        element = cast(ClauseElement, self.statement)
        compiled = element.compile(dialect=dialect, column_keys=list(params))
        if not isinstance(compiled, SQLCompiler) or not compiled.positional:
            raise ValueError(f"{dialect.name}: only positional parameter styles are supported")
        shape = {
            name: [_Slot(name, i) for i in range(len(value))]
            if isinstance(value, list | tuple)
            else value
            for name, value in params.items()
        }
        state = compiled.construct_expanded_state(shape)
        slots: list[tuple[str | None, Any, Processor]] = []
        for position in state.positiontup or ():
            value = state.parameters.get(position)
            if isinstance(value, _Slot):
                process = state.processors.get(position)
                slots.append((value.name, value.index, process))
            else:
                bind = compiled.binds[position]
                process = bind.type.dialect_impl(dialect).bind_processor(dialect)
                if bind.key in params:
                    slots.append((bind.key, None, process))
                else:  # a literal of the statement, e.g. ``.values(is_private=True)``
                    slots.append((None, bind.effective_value, process))
        columns = getattr(self.statement, "exported_columns", ())
        results = tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        )
        return _Form(state.statement, tuple(slots), results)


class Transaction(Protocol):
    """The transaction a synchronous step runs in (:meth:`Database.run_write`, ``run_read``)."""

    def execute(self, stmt: Prepared, params: Mapping[str, Any] = _NO_PARAMS) -> int:
        """Run ``stmt``; the number of rows it changed."""
        ...

    def execute_many(self, stmt: Prepared, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run ``stmt`` once per parameter set in ``rows``."""
        ...

    def first(self, stmt: Prepared, params: Mapping[str, Any] = _NO_PARAMS) -> Row | None:
        """The first row ``stmt`` returns, if any."""
        ...

    def all(self, stmt: Prepared, params: Mapping[str, Any] = _NO_PARAMS) -> list[Row]:
        """Every row ``stmt`` returns."""
        ...

    def scalar(self, stmt: Prepared, params: Mapping[str, Any] = _NO_PARAMS) -> Any:
        """The first column of the first row, or None."""
        ...

    def scalars(self, stmt: Prepared, params: Mapping[str, Any] = _NO_PARAMS) -> list[Any]:
        """The first column of every row."""
        ...


class CursorTransaction:
    """:class:`Transaction` on a DBAPI cursor (SQLite): no SQLAlchemy work per statement."""

    __slots__ = ("cursor", "dialect")

    def __init__(self, cursor: Any, dialect: Dialect) -> None:
        self.cursor = cursor
        self.dialect = dialect

    def _run(self, stmt: Prepared, params: Mapping[str, Any]) -> _Form:
        form = stmt.form(self.dialect, params)
        self.cursor.execute(form.sql, form.values(params))
        return form

    def execute(self, stmt: Prepared, params: Mapping[str, Any] = _NO_PARAMS) -> int:
        """Run ``stmt``; the number of rows it changed."""
        self._run(stmt, params)
        return int(self.cursor.rowcount)

    def execute_many(self, stmt: Prepared, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run ``stmt`` once per parameter set in ``rows`` (all of one shape)."""
        if not rows:
            return
        form = stmt.form(self.dialect, rows[0])
        self.cursor.executemany(form.sql, [form.values(row) for row in rows])

    def first(self, stmt: Prepared, params: Mapping[str, Any] = _NO_PARAMS) -> Row | None:
        """The first row ``stmt`` returns, if any."""
        form = self._run(stmt, params)
        raw = self.cursor.fetchone()
        return None if raw is None else form.row(raw)

    def all(self, stmt: Prepared, params: Mapping[str, Any] = _NO_PARAMS) -> list[Row]:
        """Every row ``stmt`` returns."""
        form = self._run(stmt, params)
        return [form.row(raw) for raw in self.cursor.fetchall()]

    def scalar(self, stmt: Prepared, params: Mapping[str, Any] = _NO_PARAMS) -> Any:
        """The first column of the first row, or None."""
        row = self.first(stmt, params)
        return None if row is None else row[0]

    def scalars(self, stmt: Prepared, params: Mapping[str, Any] = _NO_PARAMS) -> list[Any]:
        """The first column of every row."""
        return [row[0] for row in self.all(stmt, params)]


class ConnectionTransaction:
    """:class:`Transaction` on a SQLAlchemy connection (PostgreSQL, on its greenlet)."""

    __slots__ = ("conn",)

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def execute(self, stmt: Prepared, params: Mapping[str, Any] = _NO_PARAMS) -> int:
        """Run ``stmt``; the number of rows it changed."""
        return int(self.conn.execute(stmt.statement, dict(params)).rowcount)

    def execute_many(self, stmt: Prepared, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run ``stmt`` once per parameter set in ``rows``."""
        if rows:
            self.conn.execute(stmt.statement, [dict(row) for row in rows])

    def first(self, stmt: Prepared, params: Mapping[str, Any] = _NO_PARAMS) -> Row | None:
        """The first row ``stmt`` returns, if any."""
        row = self.conn.execute(stmt.statement, dict(params)).first()
        return None if row is None else tuple(row)

    def all(self, stmt: Prepared, params: Mapping[str, Any] = _NO_PARAMS) -> list[Row]:
        """Every row ``stmt`` returns."""
        return [tuple(row) for row in self.conn.execute(stmt.statement, dict(params))]

    def scalar(self, stmt: Prepared, params: Mapping[str, Any] = _NO_PARAMS) -> Any:
        """The first column of the first row, or None."""
        return self.conn.execute(stmt.statement, dict(params)).scalar()

    def scalars(self, stmt: Prepared, params: Mapping[str, Any] = _NO_PARAMS) -> list[Any]:
        """The first column of every row."""
        return list(self.conn.execute(stmt.statement, dict(params)).scalars())
