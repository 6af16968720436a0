"""Shared by the tests: run `fab` as a user would, and a loopback port that counts visits."""

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# The example app's /health, and that route changed: it also says which host answered, and
# fails on the host named in the app's file SICK_ON once live (not while checked on the
# spare port, where provision sets PROVISION_RELEASE_DIR).
HEALTH = """@app.get("/health")
async def health() -> dict:
    return {"status": "ok", "release": RELEASE}
"""
SICK_HEALTH = """import os, socket
from fastapi.responses import JSONResponse

_SICK = Path(__file__).parent / "SICK_ON"


@app.get("/health")
async def health():
    sick = _SICK.exists() and _SICK.read_text().strip() == socket.gethostname()
    if sick and "PROVISION_RELEASE_DIR" not in os.environ:
        return JSONResponse({"status": "sick"}, status_code=500)
    return {"status": "ok", "release": RELEASE, "host": socket.gethostname()}
"""
RECAP = re.compile(
    r"^(?P<host>\S+) : ok=(?P<ok>\d+) changed=(?P<changed>\d+) failed=(?P<failed>\d+)$"
)


def fab(*args, timeout=600):
    """Run `fab ARGS` from the repository root; return the finished process."""
    cmd = [sys.executable, "-m", "fabric", *args]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def recap(stdout):
    """{host: {"ok": n, "changed": n, "failed": n}} from the recap lines."""
    found = {}
    for line in stdout.splitlines():
        m = RECAP.match(line)
        if m:
            found[m["host"]] = {k: int(m[k]) for k in ("ok", "changed", "failed")}
    return found


def write_tree(folder, files):
    """Write ``{relative path: text}`` under ``folder``; return ``folder``."""
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder


def write_inventory(path, host_lines, extra=""):
    path.write_text(f"hosts:\n  target:\n{host_lines}{extra}")
    return path


class CountingPort:
    """A loopback TCP port that accepts and counts connections and never answers.

    Used both to prove that no SSH connection was attempted and as a host that hangs.
    """

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.visits = 0
        self.conns = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.visits += 1
            self.conns.append(conn)

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


def free_port():
    """A loopback port nothing listens on: free for a test host, or closed for a client."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Web:
    """Where the module's test host answers HTTP: its address on the tests' network (its
    fixture sets it; each module has one host at a time)."""

    address = "127.0.0.1"


def get(path, port=80):
    """(status, body) of a GET to the test host's port (its nginx by default)."""
    return request("GET", path, port=port)


def request(method, path, body=None, port=80):
    """(status, body) of a request to the test host's port; a dict ``body`` goes as JSON."""
    conn = http.client.HTTPConnection(Web.address, port, timeout=30)
    headers = {"Content-Type": "application/json"} if isinstance(body, dict) else {}
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    try:
        conn.request(method, path, body=data, headers=headers)
        answer = conn.getresponse()
        return answer.status, answer.read().decode()
    finally:
        conn.close()


def live_release():
    """The release id the live app reports at /health, through nginx."""
    status, body = get("/health")
    assert status == 200, body
    return json.loads(body)["release"]


def deployed(deploy, *args):
    """Run the ``deploy`` fixture; return the release then live."""
    done = deploy(*args)
    assert done.returncode == 0, done.stdout + done.stderr
    return live_release()


def releases_on(host):
    return sorted(host.check_output("ls /srv/hello/releases").split())


def venvs_on(host):
    return sorted(host.check_output("ls -A /srv/hello/venvs").split())


def listed(stdout):
    """{release id: set of marks} from `fab releases`."""
    rows = {}
    for line in stdout.splitlines():
        m = re.match(r"^\[target\] (\S+)\s+(.*?)\s*venv \S*$", line)
        if m:
            rows[m[1]] = {mark.strip() for mark in m[2].split(",") if mark.strip()}
    return rows


def with_programs(folder, **bodies):
    """An environment whose PATH finds first a shell script for each program named (its
    body), written under ``folder``: the server's programs, as a test here stands them in.
    """
    bin_ = folder / "bin"
    bin_.mkdir()
    for name, body in bodies.items():
        (bin_ / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_ / name).chmod(0o755)
    return {**os.environ, "PATH": f"{bin_}:{os.environ['PATH']}"}
