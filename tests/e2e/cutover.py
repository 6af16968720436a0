"""Run on a test host: how often an older release still answers once a newer one did.

    python3 cutover.py ROOT RELEASE_A RELEASE_B ROUNDS WORKERS

Each round points ROOT/current at the other release by hand, as an operator would,
runs `systemctl reload hello`, waits until the app answers with that release, then asks
40 more times straight away and counts the answers from any other release. Before the
next round it waits until the replaced workers have exited: until the master has WORKERS
children again (the workers of a reload just before may still be finishing at the start).
"""

import socket
import subprocess
import sys
import time


def release() -> str:
    with socket.create_connection(("127.0.0.1", 8000), timeout=5) as conn:
        conn.sendall(b"GET /health HTTP/1.0\r\n\r\n")
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return answer.split(b'"release":"')[1].split(b'"')[0].decode()


def workers() -> int:
    main = subprocess.run(["systemctl", "show", "-p", "MainPID", "--value", "hello"],
                          capture_output=True, text=True).stdout.strip()  # fmt: skip
    children = subprocess.run(["pgrep", "-P", main], capture_output=True, text=True).stdout
    return len(children.split())


def wait_for(condition, what) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        if time.monotonic() > deadline:
            sys.exit(f"{what} within 30 s")
        time.sleep(0.005)


root, a, b, rounds, count = sys.argv[1], sys.argv[2], sys.argv[3], *map(int, sys.argv[4:6])
wait_for(lambda: workers() == count, "the workers of the reload before did not exit")
stale = 0
for i in range(rounds):
    target = (a, b)[i % 2]
    subprocess.run(
        f"ln -sfn releases/{target} {root}/current.new && mv -T {root}/current.new {root}/current"
        " && systemctl reload hello",
        shell=True,
        check=True,
    )
    wait_for(lambda: release() == target, f"{target} did not answer")  # noqa: B023
    stale += sum(release() != target for _ in range(40))
    wait_for(lambda: workers() == count, "the replaced workers did not exit")
print(stale)
