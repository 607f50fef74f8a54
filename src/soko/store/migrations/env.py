"""Alembic environment: runs on the connection Soko hands it (see soko.store.db.migrate)."""

from alembic import context
from sqlalchemy import create_engine

from soko.store.tables import Base

config = context.config
connection = config.attributes.get("connection")

if connection is None:
    # `alembic revision --autogenerate` from a developer's shell.
    from soko.settings import get_settings

    engine = create_engine(get_settings().sqlalchemy_url)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=Base.metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
