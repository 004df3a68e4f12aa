"""What can go wrong in the database, in Modest's words.

The unit of work (``Database.unit_of_work``) turns the driver's errors into these,
so code above ``storage/`` never names SQLAlchemy or a driver::

    StorageError            the database refused or could not do the work
    ├── ConflictError       a write broke a unique or reference constraint: usually another
    │                       transaction wrote the same row first; the whole unit of work
    │                       may be tried again and will then see that row
    └── UnavailableError    the database could not be reached, or dropped the connection,
                            or was too busy; the work may be tried again later

Each keeps the driver's error as ``__cause__`` for the logs. SQLAlchemy's own
usage errors (a misused session, a bad mapping) are not translated: they are
bugs, not outcomes.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError


class StorageError(Exception):
    """The database refused or could not do the work."""


class ConflictError(StorageError):
    """A write broke a unique or reference constraint (another transaction got there first)."""


class UnavailableError(StorageError):
    """The database could not be reached, dropped the connection or was too busy."""


def translate(exc: DBAPIError) -> StorageError:
    """The ``StorageError`` for a driver error (its message, without the SQL)."""
    message = str(exc.orig) if exc.orig is not None else type(exc).__name__
    if isinstance(exc, IntegrityError):
        return ConflictError(message)
    if isinstance(exc, OperationalError | InterfaceError) or exc.connection_invalidated:
        return UnavailableError(message)
    return StorageError(message)
