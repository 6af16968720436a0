"""The example app provision deploys when no other source is given.

/health also reports the release the code came from (for people and tests: provision's
health gate needs nothing from the app); /slow and /echo help show that no request is
dropped.
"""

import asyncio
from pathlib import Path

from fastapi import FastAPI, Request, WebSocket

RELEASE = (Path(__file__).parent / "REVISION").read_text().strip()

app = FastAPI()


@app.get("/health")
async def health() -> dict:
    return {"status": "ok", "release": RELEASE}


@app.get("/")
async def index() -> dict:
    return {"hello": "world", "release": RELEASE}


@app.get("/slow")
async def slow(seconds: float = 5.0) -> dict:
    await asyncio.sleep(min(seconds, 30.0))
    return {"slept": seconds, "release": RELEASE}


@app.post("/echo")
async def echo(request: Request) -> dict:
    body = await request.body()
    return {"length": len(body), "release": RELEASE}


@app.get("/whoami")
async def whoami(request: Request) -> dict:
    """What the app sees of the client, through nginx's forwarded headers."""
    return {"scheme": request.url.scheme, "client": request.client.host if request.client else None}


@app.websocket("/ws")
async def ws(socket: WebSocket) -> None:
    await socket.accept()
    await socket.send_text(f"hello from {RELEASE}")
    await socket.close()
