"""Persistence: schema, migrations, demo data."""
