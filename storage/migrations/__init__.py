"""Alembic migrations for the lifesci-tracker schema."""
