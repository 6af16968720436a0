"""Run on the server: wait until a health URL answers 200 from the wanted release.

    python3 -I -S wait_healthy.py URL RELEASE_ID TIMEOUT [PID|- [PATH...]]

The release that answered is the one its ``X-Provision-Release`` answer header names
(the workers add it when asked with ``X-Provision-Probe``), or, for releases made before
that header, the one whose id is in the body. It gives up at once when the answer cannot
change: PID (the process serving the release) has exited, or the wanted release answered
with a server error three times in a row (503 excepted: "not ready yet" is worth waiting
for). It runs with the server's own python3 at every deploy and rollback, so it asks in
plain HTTP/1.0 over a socket: the standard library's HTTP clients take longer to import
than a new release takes to answer. Once it has, each PATH (a smoke test: a page that
needs the database, say) is asked once on the same server and must answer below 400.
"""

import socket
import sys
import time

DEFINITE = 3  # server errors in a row from the wanted release that settle the question


def alive(pid: str) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def get(url: str) -> tuple[int, str, str]:
    """(status, release header, body) of ``GET url``, for http://HOST:PORT/PATH."""
    host_port, _, path = url.removeprefix("http://").partition("/")
    host, _, port = host_port.partition(":")
    with socket.create_connection((host, int(port or 80)), timeout=2) as conn:
        request = f"GET /{path} HTTP/1.0\r\nHost: {host_port}\r\nX-Provision-Probe: 1\r\n\r\n"
        conn.sendall(request.encode())
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode(errors="replace").split("\r\n")
    status = lines[0].split(" ", 2)[1] if lines[0].startswith("HTTP/") else "0"
    release = ""
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "x-provision-release":
            release = value.strip()
    return int(status), release, body.decode(errors="replace")


def describe(status: int, release: str, body: str) -> str:
    excerpt = " ".join(body.split())[:200]
    source = f" from release {release}" if release else ""
    return f"HTTP {status}{source}: {excerpt or '(empty body)'}"


def smoke(url: str, want: str, paths: list[str]) -> None:
    """Ask each path once; exit saying which failed and how."""
    base = url.removeprefix("http://").partition("/")[0]
    for path in paths:
        status, release, body = get(f"http://{base}/{path.lstrip('/')}")
        if status >= 400 or status < 100:
            answer = describe(status, release, body)
            sys.exit(f"release {want}: smoke path {path} answered {answer}")


def main() -> None:
    url, want, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
    pid = sys.argv[4] if len(sys.argv) > 4 and sys.argv[4] != "-" else None
    paths = sys.argv[5:]
    deadline = time.monotonic() + timeout
    last, errors = "no answer", 0
    while time.monotonic() < deadline:
        if pid and not alive(pid):
            sys.exit(f"the process serving release {want} exited (last answer: {last})")
        try:
            status, release, body = get(url)
        except (OSError, ValueError, IndexError) as e:  # refused, reset, garbled: not yet
            last = str(e) or type(e).__name__
            time.sleep(0.02)
            continue
        mine = release == want or (not release and want in body)
        if status == 200 and mine:
            smoke(url, want, paths)
            print(describe(status, release, body))
            return
        last = describe(status, release, body)
        errors = errors + 1 if mine and status >= 500 and status != 503 else 0
        if errors >= DEFINITE:
            sys.exit(f"release {want} answered {url} with a server error {errors} times: {last}")
        time.sleep(0.02)
    sys.exit(f"{url} did not answer from release {want} within {timeout:g} s (last: {last})")


main()
