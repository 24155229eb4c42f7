"""Alembic migrations of the registry, run by :func:`diagnosis.registry.database.upgrade`."""
