"""Alembic environment: migrations run on the connection the registry hands over.

:func:`diagnosis.registry.database.upgrade` puts an open connection (inside a
transaction holding the registry's write lock) in ``config.attributes``; no
URL and no ``alembic.ini`` are read, so the migrations run the same way from
the command line, the app and the tests.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached by running alembic by hand
    raise RuntimeError("Run the registry migrations with `python -m diagnosis registry upgrade`.")

context.configure(
    connection=connection,
    target_metadata=None,
    render_as_batch=connection.dialect.name == "sqlite",
    transactional_ddl=True,
)
with context.begin_transaction():
    context.run_migrations()
