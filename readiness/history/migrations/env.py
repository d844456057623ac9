"""Alembic environment: migrations run on the connection (and transaction) readiness opened.

:func:`readiness.history.migrate.upgrade` passes its connection in
``config.attributes["connection"]``, inside a transaction that holds the database's
write lock, so two processes never migrate at once.
"""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None, render_as_batch=True, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
