"""aiosqlite for SQLAlchemy, with one trip to aiosqlite's thread per statement.

aiosqlite runs every sqlite3 call on its own worker thread. SQLAlchemy's adapter makes a
separate trip for each step of a statement: open a cursor, execute, fetch the rows, close
the cursor. Each trip is a hand-off to the worker and a wake-up of the event loop, about
70 µs here, while SQLite itself answers a simple statement in a few µs, so the trips were
most of the cost of every webhook, tap and send.

``OneTripDBAPI`` keeps aiosqlite's connection and worker thread and SQLAlchemy's adapter;
only a non-streaming ``execute``/``executemany`` is changed: the four steps run as one
function on the worker thread, through ``aiosqlite.Connection._execute``, the call that all
of aiosqlite's own methods go through. Streaming (server-side) cursors, commit, rollback and
everything else are SQLAlchemy's unchanged. When the installed aiosqlite lacks that call,
``one_trip_dbapi`` returns None and the engine uses SQLAlchemy's stock adapter.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)

#: What one statement leaves behind: description, rows, lastrowid, rowcount.
_Outcome = tuple[Any, list[Any] | None, Any, int]


def _execute(conn: sqlite3.Connection, operation: str, parameters: Any) -> _Outcome:
    """Run on aiosqlite's thread: the whole statement, cursor to close."""
    cursor = conn.cursor()
    try:
        if parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        if cursor.description:
            return cursor.description, cursor.fetchall(), -1, -1
        return None, None, cursor.lastrowid, cursor.rowcount
    finally:
        cursor.close()


def _begin_then(
    conn: sqlite3.Connection, begin: str, function: Any, operation: str, parameters: Any
) -> _Outcome:
    """Run on aiosqlite's thread: the deferred BEGIN, then the transaction's first statement."""
    conn.execute(begin)
    return function(conn, operation, parameters)  # type: ignore[no-any-return]


def _executemany(conn: sqlite3.Connection, operation: str, parameters: Any) -> _Outcome:
    cursor = conn.cursor()
    try:
        cursor.executemany(operation, parameters)
        return None, None, cursor.lastrowid, cursor.rowcount
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """SQLAlchemy's buffered aiosqlite cursor, one worker trip per statement."""

    __slots__ = ()

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        """Execute and buffer the rows in one trip."""
        self._take(self._trip(_execute, operation, parameters))

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        """Execute for every parameter set in one trip."""
        self._take(self._trip(_executemany, operation, seq_of_parameters))

    def _trip(self, function: Any, operation: Any, parameters: Any) -> _Outcome:
        connection = self._connection
        adapted = self._adapt_connection
        begin = adapted.take_deferred_begin() if isinstance(adapted, OneTripConnection) else None
        try:
            if begin is None:
                call = connection._execute(function, connection._conn, operation, parameters)
            else:
                call = connection._execute(
                    _begin_then, connection._conn, begin, function, operation, parameters
                )
            outcome: _Outcome = self.await_(call)
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        return outcome

    def _take(self, outcome: _Outcome) -> None:
        description, rows, lastrowid, rowcount = outcome
        self.description = description
        self.lastrowid, self.rowcount = lastrowid, rowcount
        self._rows = deque(rows) if rows is not None else deque()


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    """SQLAlchemy's aiosqlite connection adapter handing out ``OneTripCursor``s.

    ``defer_begin`` keeps a transaction's ``BEGIN`` until its first statement and sends
    both in one trip; a transaction that runs no statement costs no trip at all (its
    commit or rollback has nothing to end).
    """

    __slots__ = ("_deferred_begin",)

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self._deferred_begin: str | None = None

    def defer_begin(self, statement: str) -> None:
        """Start the transaction with ``statement`` together with its first statement."""
        self._deferred_begin = statement

    def take_deferred_begin(self) -> str | None:
        """The BEGIN still to send, if any, which the caller now sends."""
        begin, self._deferred_begin = self._deferred_begin, None
        return begin

    def cursor(self, server_side: bool = False) -> AsyncAdapt_aiosqlite_cursor:
        """A one-trip cursor; streaming cursors stay SQLAlchemy's (after the BEGIN)."""
        if server_side:
            begin = self.take_deferred_begin()
            if begin is not None:
                OneTripCursor(self).execute(begin)
            return super().cursor(server_side=True)
        return OneTripCursor(self)

    def commit(self) -> None:
        """Commit; no trip when no transaction is open."""
        if self._transaction_open():
            super().commit()

    def rollback(self) -> None:
        """Roll back; no trip when no transaction is open (the pool's reset after every
        commit is one such rollback)."""
        if self._transaction_open():
            super().rollback()

    def _transaction_open(self) -> bool:
        # sqlite3 reads its own autocommit flag; no statement of this connection runs
        # meanwhile (SQLAlchemy awaits each one), so the worker thread is idle.
        deferred = self.take_deferred_begin() is not None
        return not deferred and bool(self._connection._conn.in_transaction)


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The DBAPI module SQLAlchemy's aiosqlite dialect is given (``create_engine(module=)``)."""

    def __init__(self) -> None:
        super().__init__(aiosqlite, sqlite3)

    def connect(self, *arg: Any, **kw: Any) -> AsyncAdapt_aiosqlite_connection:
        """Connect as SQLAlchemy does, then wrap in the one-trip adapter."""
        made: list[aiosqlite.Connection] = []

        def create(*args: Any, **kwargs: Any) -> aiosqlite.Connection:
            connection = aiosqlite.connect(*args, **kwargs)
            connection._thread.daemon = True  # as SQLAlchemy's own connect does
            made.append(connection)
            return connection

        kw.setdefault("async_creator_fn", create)
        try:
            stock = super().connect(*arg, **kw)
        except BaseException:
            # aiosqlite stops the worker of a connection that failed to open without
            # waiting for it: should the event loop close first, the worker's answer
            # raises in its thread. Let it finish here (it has only the stop to do).
            for connection in made:
                connection._thread.join(timeout=1.0)
            raise
        if type(stock) is not AsyncAdapt_aiosqlite_connection:
            return stock  # the sync fallback mode: leave it as SQLAlchemy made it
        return OneTripConnection(self, stock._connection)


def one_trip_dbapi() -> OneTripDBAPI | None:
    """The one-trip module, or None if this aiosqlite has no ``Connection._execute``."""
    if not callable(getattr(aiosqlite.Connection, "_execute", None)):
        return None
    return OneTripDBAPI()
