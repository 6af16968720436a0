"""The jobs table, and its command line: `python -m jobs add SECONDS`, `python -m jobs show`.

A job takes SECONDS to do. The worker notes the release that started it and the one that
finished it: a job in hand when the worker is told to stop is finished before it exits.
"""

import json
import sqlite3
import sys
from pathlib import Path

DB = Path("data/jobs.db")
RELEASE = Path("REVISION").read_text().strip()


def connect() -> sqlite3.Connection:
    db = sqlite3.connect(DB, timeout=30, isolation_level=None)
    db.execute("CREATE TABLE IF NOT EXISTS jobs (id INTEGER PRIMARY KEY, seconds REAL, "
               "state TEXT DEFAULT 'queued', started_by TEXT, finished_by TEXT)")  # fmt: skip
    db.execute("CREATE TABLE IF NOT EXISTS ticks (id INTEGER PRIMARY KEY, release TEXT)")
    db.execute("CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY, overlapped INTEGER, "
               "done INTEGER DEFAULT 0)")  # fmt: skip
    return db


def main(args: list[str]) -> None:
    db = connect()
    if args[0] == "add":
        cursor = db.execute("INSERT INTO jobs (seconds) VALUES (?)", (float(args[1]),))
        print(cursor.lastrowid)
    elif args[0] == "show":
        rows = db.execute("SELECT id, state, started_by, finished_by FROM jobs ORDER BY id")
        ticks = db.execute("SELECT count(*), max(release) FROM ticks").fetchone()
        runs = db.execute("SELECT count(*), sum(overlapped) FROM runs WHERE done = 1").fetchone()
        print(json.dumps({"jobs": [list(r) for r in rows], "ticks": list(ticks),
                          "slow": list(runs)}))  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1:])
