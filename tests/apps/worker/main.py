"""A web app with a background worker and a scheduled job, as people write them: the
worker polls a table of jobs in a SQLite database that outlives releases (data/)."""

from pathlib import Path

from fastapi import FastAPI

RELEASE = (Path(__file__).parent / "REVISION").read_text().strip()

app = FastAPI()


@app.get("/health")
async def health() -> dict:
    return {"status": "ok"}


@app.get("/")
async def index() -> dict:
    return {"release": RELEASE}
