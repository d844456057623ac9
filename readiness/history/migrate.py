"""Schema migrations of the release history (Alembic), safe when several processes open it.

The migration scripts live in ``readiness/history/migrations/versions``; Alembic keeps the
applied revision in the database's ``alembic_version`` table. :func:`upgrade` is called
whenever a store is opened:

1. a cheap read of the revision: at :data:`HEAD` nothing else happens (the common case,
   a few milliseconds);
2. otherwise it takes the database's write lock (SQLite ``BEGIN IMMEDIATE``, PostgreSQL a
   transaction-scoped advisory lock), reads the revision again (another process may have
   migrated meanwhile) and runs the missing migrations in that same transaction: both
   databases have transactional DDL, so an interrupted migration leaves the old schema.

A database at a revision this readiness does not know was written by a newer readiness:
it is refused with one line instead of being guessed at.
"""

from __future__ import annotations

from pathlib import Path

from readiness.exceptions import InputError

#: The newest revision shipped (the last file in migrations/versions).
HEAD = "0002"
MIGRATIONS = Path(__file__).with_name("migrations")


def known_revisions() -> list[str]:
    """Every revision shipped, oldest first (read from the migration scripts).

    Examples
    --------
    >>> known_revisions()[0]
    '0001'
    """
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(MIGRATIONS))
    return [s.revision for s in reversed(list(script.walk_revisions()))]


def current_revision(connection) -> str | None:
    """The revision recorded in the database; None for an empty one.

    Read with one plain query, as Alembic keeps it (``alembic_version.version_num``), so that
    opening a history that is up to date never imports Alembic (~0.4 s of every run).

    Examples
    --------
    >>> import os, tempfile
    >>> from sqlalchemy import create_engine
    >>> from readiness.history.store import HistoryStore
    >>> with create_engine("sqlite://").connect() as connection:
    ...     print(current_revision(connection))
    None
    >>> with HistoryStore(os.path.join(tempfile.mkdtemp(), "history.sqlite")) as store:
    ...     with store.engine.connect() as connection:
    ...         current_revision(connection) == HEAD  # opening the store migrated it
    True
    """
    from sqlalchemy import inspect, text

    if not inspect(connection).has_table("alembic_version"):
        return None
    heads = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(heads) > 1:
        raise InputError(f"the release history has several schema revisions ({', '.join(sorted(heads))}); "
                         "it was changed by hand or by another tool")
    return heads[0] if heads else None


def upgrade(store, target: str = "head") -> None:
    """Bring ``store``'s schema to ``target`` (default: the newest); see the module docstring.

    Examples
    --------
    Opening a store calls it; at :data:`HEAD` it returns at once. A history written by a
    newer readiness is refused:

    >>> import os, tempfile
    >>> from sqlalchemy import text
    >>> from readiness.history.store import HistoryStore
    >>> store = HistoryStore(os.path.join(tempfile.mkdtemp(), "history.sqlite"))
    >>> upgrade(store)
    >>> with store.engine.begin() as connection:
    ...     _ = connection.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    >>> upgrade(store)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    readiness.exceptions.InputError: history .../history.sqlite: written by a newer readiness (schema revision 0099; this one knows up to ...); upgrade readiness to read it
    >>> store.close()
    """
    with store.engine.connect() as connection:
        revision = current_revision(connection)
        connection.rollback()
    if revision == HEAD and target == "head":
        return
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    with store._writer.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": 0x72646E73})
        revision = current_revision(connection)
        if revision is not None and revision not in known_revisions():
            raise InputError(f"history {store.label}: written by a newer readiness (schema revision {revision}; "
                             f"this one knows up to {HEAD}); upgrade readiness to read it")
        if revision == HEAD and target == "head":
            return
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        command.upgrade(config, target)
