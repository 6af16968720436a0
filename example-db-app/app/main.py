"""A FastAPI app with a PostgreSQL database, the way the FastAPI and SQLAlchemy docs show
it: SQLAlchemy 2 async with asyncpg, a session per request, Alembic migrations."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import engine, session
from app.models import Item


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    await engine.dispose()


app = FastAPI(lifespan=lifespan)
DB = Annotated[AsyncSession, Depends(session)]


class NewItem(BaseModel):
    name: str


@app.get("/health")
async def health() -> dict:
    return {"status": "ok"}


@app.get("/items")
async def list_items(db: DB, limit: int = 20) -> list[dict]:
    rows = await db.scalars(select(Item).order_by(Item.id.desc()).limit(limit))
    return [{"id": i.id, "name": i.name} for i in rows]


@app.post("/items", status_code=201)
async def add_item(item: NewItem, db: DB) -> dict:
    row = Item(name=item.name)
    db.add(row)
    await db.commit()
    return {"id": row.id, "name": row.name}
