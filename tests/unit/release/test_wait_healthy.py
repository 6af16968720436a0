"""The health gate's poll, run as the server runs it, against a local HTTP server."""

import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.helpers import ROOT

SCRIPT = ROOT / "provision" / "release" / "on_server" / "wait_healthy.py"


class Server:
    """Answers each GET with the next of ``answers`` (status, release header, body); the
    last one repeats. ``paths`` answer their own path's fixed answer instead."""

    def __init__(self, answers, paths=None):
        self.answers, self.asked, self.probes = list(answers), 0, []
        self.paths = paths or {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path in server.paths:
                    status, release, body = server.paths[self.path]
                else:
                    status, release, body = server.answers[
                        min(server.asked, len(server.answers) - 1)
                    ]
                server.asked += 1
                server.probes.append(self.headers.get("X-Provision-Probe"))
                self.send_response(status)
                if release:
                    self.send_header("X-Provision-Release", release)
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/health"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve():
    servers = []

    def start(*answers, paths=None):
        servers.append(Server(answers, paths))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


def poll(url, rid="r2", timeout=30, pid=None, smoke=()):
    args = [sys.executable, "-I", "-S", str(SCRIPT), url, rid, str(timeout), pid or "-", *smoke]
    return subprocess.run(args, capture_output=True, text=True, timeout=20)


def test_waits_for_the_wanted_release(serve):
    server = serve((200, "r1", "{}"), (200, "r1", "{}"), (200, "r2", '{"status":"ok"}'))
    done = poll(server.url)
    assert done.returncode == 0, done.stderr
    assert server.asked == 3 and set(server.probes) == {"1"}


def test_a_release_from_before_the_header_is_known_by_its_body(serve):
    done = poll(serve((200, "", '{"release": "r2"}')).url)
    assert done.returncode == 0, done.stderr


def test_server_errors_from_the_wanted_release_end_the_wait_at_once(serve):
    server = serve((500, "r2", "Internal Server Error"))
    done = poll(server.url, timeout=300)  # a wait to the deadline would outlast run's timeout
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"release r2 answered {server.url} with a server error 3 times: "
        "HTTP 500 from release r2: Internal Server Error"
    )
    assert server.asked == 3


@pytest.mark.parametrize("answer", [(503, "r2", "starting"), (500, "r1", "old one failing")])
def test_not_ready_or_another_release_failing_is_waited_out(serve, answer):
    server = serve(answer)
    done = poll(server.url, timeout=1)
    assert done.returncode == 1
    assert f"did not answer from release r2 within 1 s (last: HTTP {answer[0]}" in done.stderr
    assert server.asked > 3


def test_an_exited_process_ends_the_wait(serve):
    gone = subprocess.Popen(["true"])
    gone.wait()
    server = serve((502, "", "bad gateway"))
    done = poll(server.url, timeout=300, pid=str(gone.pid))
    assert done.returncode == 1
    assert done.stderr.startswith("the process serving release r2 exited")


def test_smoke_paths_are_asked_once_the_release_answered(serve):
    ok = serve((200, "r2", "{}"), paths={"/items": (200, "r2", "[]"), "/about": (302, "r2", "")})
    assert poll(ok.url, smoke=["/items", "/about"]).returncode == 0
    bad = serve((200, "r2", "{}"), paths={"/items": (500, "r2", "no such table: items")})
    done = poll(bad.url, smoke=["/items"])
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "release r2: smoke path /items answered HTTP 500 from release r2: no such table: items"
    )
