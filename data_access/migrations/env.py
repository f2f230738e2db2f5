"""Alembic environment: runs against the engine handed over by data_access.core.db."""
from alembic import context
from sqlalchemy import create_engine

from data_access.core.schema import metadata

config = context.config
target_metadata = metadata


def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # A migration may rebuild an index over a million rows: not cut off by the dashboard's limit.
            connection.exec_driver_sql("SET LOCAL statement_timeout = 0")
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        context.run_migrations()


run_migrations_online()
