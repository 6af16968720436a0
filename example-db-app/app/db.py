"""The database: one engine (and its connection pool) per process, from DATABASE_URL."""

import os
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

engine = create_async_engine(os.environ["DATABASE_URL"], pool_size=5, pool_pre_ping=True)
Session = async_sessionmaker(engine, expire_on_commit=False)


class Base(DeclarativeBase):
    pass


async def session() -> AsyncIterator[AsyncSession]:
    async with Session() as s:
        yield s
