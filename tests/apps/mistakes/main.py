"""An app with the mistakes `fab doctor` looks for, one per line it names (see
tests/unit/commands/test_doctor.py): blocking calls in async endpoints, an engine per request, the
reloader, and no route at the health path."""

import sqlite3
import subprocess
import time
from time import sleep as nap

import requests
import uvicorn
from fastapi import FastAPI
from sqlalchemy import create_engine

app = FastAPI()


@app.get("/")
async def index() -> dict:
    time.sleep(1)  # line 20
    reply = requests.get("http://127.0.0.1:9/api")  # line 21
    return {"status": reply.status_code}


@app.get("/report")
async def report() -> dict:
    with open("report.csv") as f:  # line 27
        rows = f.read()
    db = sqlite3.connect("app.db")  # line 29
    nap(0.1)  # line 30
    subprocess.run(["ls"])  # line 31
    return {"rows": len(rows), "db": str(db)}


@app.get("/users")
def users() -> dict:
    engine = create_engine("postgresql://db/app")  # line 37
    time.sleep(0.1)  # a plain def runs in a thread pool: fine
    return {"engine": str(engine)}


@app.get("/fine")
async def fine() -> dict:
    def work() -> str:
        time.sleep(1)  # a function inside, run elsewhere: not this endpoint's call
        return "done"

    return {"work": work.__name__}


if __name__ == "__main__":
    uvicorn.run("main:app", reload=True)  # line 52
