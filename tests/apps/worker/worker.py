"""The background worker: takes queued jobs one at a time; told to stop (SIGTERM), it
finishes the job in hand, then exits."""

import signal
import time

from jobs import RELEASE, connect

stopping = False


def stop(signum, frame) -> None:
    global stopping
    stopping = True
    print(f"worker {RELEASE}: told to stop", flush=True)


def main() -> None:
    signal.signal(signal.SIGTERM, stop)
    db = connect()
    print(f"worker {RELEASE}: ready", flush=True)
    while not stopping:
        db.execute("BEGIN IMMEDIATE")
        row = db.execute(
            "SELECT id, seconds FROM jobs WHERE state = 'queued' ORDER BY id"
        ).fetchone()
        if row:
            db.execute("UPDATE jobs SET state = 'working', started_by = ? WHERE id = ?",
                       (RELEASE, row[0]))  # fmt: skip
        db.execute("COMMIT")
        if not row:
            time.sleep(0.2)
            continue
        print(f"worker {RELEASE}: job {row[0]} started", flush=True)
        end = time.monotonic() + row[1]
        while time.monotonic() < end:  # the work: not cut short by a stop
            time.sleep(0.1)
        db.execute("UPDATE jobs SET state = 'done', finished_by = ? WHERE id = ?",
                   (RELEASE, row[0]))  # fmt: skip
        print(f"worker {RELEASE}: job {row[0]} done", flush=True)


if __name__ == "__main__":
    main()
