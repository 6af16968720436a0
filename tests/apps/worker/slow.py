"""A scheduled job that takes longer than the interval between its runs: notes whether
another run of it was going at the same time."""

import time

from jobs import connect

db = connect()
others = db.execute("SELECT count(*) FROM runs WHERE done = 0").fetchone()[0]
run = db.execute("INSERT INTO runs (overlapped) VALUES (?)", (others,)).lastrowid
time.sleep(3)  # the work, longer than the 2 s between the timer's runs
db.execute("UPDATE runs SET done = 1 WHERE id = ?", (run,))
