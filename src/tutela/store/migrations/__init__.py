"""Alembic migrations for the Tutela store, run programmatically by ``open_store``."""
