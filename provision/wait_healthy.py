"""Run on the server: wait until a health URL answers 200 with the release id in its body.

    python3 wait_healthy.py URL RELEASE_ID TIMEOUT [PID]

With PID, give up as soon as that process (the release being checked) has exited.
Only the standard library: it runs with the server's own python3.
"""

import sys
import time
import urllib.request


def alive(pid: str) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def main() -> None:
    url, want, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
    pid = sys.argv[4] if len(sys.argv) > 4 else None
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if pid and not alive(pid):
            sys.exit(f"the release exited before it answered {url}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                body = answer.read(4096).decode(errors="replace")
                if want in body:
                    print(body)
                    return
                last = f"HTTP {answer.status} from another release: {body[:200]}"
        except Exception as e:  # refused, reset, HTTP errors: all mean "not yet"
            last = str(e)
        time.sleep(0.05)
    sys.exit(f"{url} did not answer with release {want} within {timeout:g} s (last: {last})")


main()
