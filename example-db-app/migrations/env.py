"""Alembic's environment for an async engine: the URL comes from DATABASE_URL."""

import asyncio
import os
from logging.config import fileConfig

from alembic import context
from app import models  # noqa: F401  (the tables, for autogenerate)
from app.db import Base
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

if context.config.config_file_name:
    fileConfig(context.config.config_file_name)  # alembic.ini's logging: say what runs

target_metadata = Base.metadata


def migrate(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()


async def main() -> None:
    engine = create_async_engine(os.environ["DATABASE_URL"])
    async with engine.connect() as connection:
        await connection.run_sync(migrate)
    await engine.dispose()


asyncio.run(main())
