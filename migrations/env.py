"""Alembic environment: the URL comes from engine.db.upgrade or DATABASE_URL."""

from alembic import context

from engine.db import create_db_engine, database_url
from engine.models import Base

url = context.config.attributes.get("url") or database_url()


def run_migrations_online() -> None:
    db = create_db_engine(url)
    with db.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=url.startswith("sqlite"),
        )
        with context.begin_transaction():
            context.run_migrations()
    db.dispose()


run_migrations_online()
