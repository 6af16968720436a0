"""Run on the server: wait until a health URL answers 200 with the release id in its body.

    python3 -I -S wait_healthy.py URL RELEASE_ID TIMEOUT [PID]

With PID, give up as soon as that process (the release being checked) has exited.
It runs with the server's own python3 at every deploy and rollback, so it asks in plain
HTTP/1.0 over a socket: the standard library's HTTP clients take longer to import than
a new release takes to answer.
"""

import socket
import sys
import time


def alive(pid: str) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def get(url: str) -> tuple[int, str]:
    """(status, body) of ``GET url``, for http://HOST:PORT/PATH."""
    host_port, _, path = url.removeprefix("http://").partition("/")
    host, _, port = host_port.partition(":")
    with socket.create_connection((host, int(port or 80)), timeout=2) as conn:
        conn.sendall(f"GET /{path} HTTP/1.0\r\nHost: {host_port}\r\n\r\n".encode())
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status = head.split(b" ", 2)[1] if head.startswith(b"HTTP/") else b"0"
    return int(status), body.decode(errors="replace")


def main() -> None:
    url, want, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
    pid = sys.argv[4] if len(sys.argv) > 4 else None
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if pid and not alive(pid):
            sys.exit(f"the release exited before it answered {url}")
        try:
            status, body = get(url)
            if status == 200 and want in body:
                print(body)
                return
            last = f"HTTP {status}: {body[:200]}"
        except (OSError, ValueError, IndexError) as e:  # refused, reset, garbled: not yet
            last = str(e) or type(e).__name__
        time.sleep(0.02)
    sys.exit(f"{url} did not answer with release {want} within {timeout:g} s (last: {last})")


main()
