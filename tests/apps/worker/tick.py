"""A scheduled job: notes that it ran, from which release, and whether another run of it
was going at the same time (it takes longer than the interval between its runs)."""

import time

from jobs import RELEASE, connect

db = connect()
db.execute("CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY, done INTEGER DEFAULT 0)")
others = db.execute("SELECT count(*) FROM runs WHERE done = 0").fetchone()[0]
run = db.execute("INSERT INTO runs DEFAULT VALUES").lastrowid
time.sleep(3)  # the work, longer than the 2 s between the timer's runs
db.execute("UPDATE runs SET done = 1 WHERE id = ?", (run,))
db.execute("INSERT INTO ticks (release, overlapped) VALUES (?, ?)", (RELEASE, others))
print(f"tick from {RELEASE}")
