"""A small app as a new user brings it: an `app` package, no requirements.txt."""

from pathlib import Path

from fastapi import FastAPI

REVISION = Path(__file__).parents[1] / "REVISION"  # written into each release by provision
RELEASE = REVISION.read_text().strip() if REVISION.exists() else "dev"

app = FastAPI(title="notes")


@app.get("/health")
async def health() -> dict:
    return {"status": "ok", "release": RELEASE}


@app.get("/")
async def index() -> dict:
    return {"app": "notes", "release": RELEASE}
