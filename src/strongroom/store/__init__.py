"""Database engine, ORM models, repositories and Alembic migrations."""
