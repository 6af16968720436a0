"""HTTP load for zero-downtime tests: keep-alive clients that count every failed request.

Traffic goes only to the address given (a loopback port of a test host). Each client
loops until stopped or until ``max_seconds``, whichever comes first.
"""

import http.client
import json
import socket
import ssl
import threading
import time
from collections import Counter

STALE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)


class NamedHTTPS(http.client.HTTPSConnection):
    """HTTPS to an address, for the site ``name``: its name in the TLS handshake (SNI) and
    its certificate checked against ``ca``, as a browser does for a domain."""

    def __init__(self, address, port, name, ca, timeout=30):
        super().__init__(address, port, timeout=timeout,
                         context=ssl.create_default_context(cafile=str(ca)))  # fmt: skip
        self.name = name

    def connect(self):
        raw = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.name)


class Load:
    """``with Load("127.0.0.1", 80, clients=4) as load: ...`` then ``load.counts``.

    ``get`` and ``post``: the paths asked, in turn; ``body``: what each POST sends (JSON
    when it is a dict); ``site``: (name, CA file) to ask the site of that domain over
    HTTPS instead of HTTP (``port`` then 443)."""

    def __init__(self, host, port, clients=4, max_seconds=600, get="/health", post="/echo",
                 body=b"x" * 512, site=None):  # fmt: skip
        self.host, self.port, self.site = host, port, site
        self.get, self.post = get, post
        self.body, self.headers = body, {}
        if isinstance(body, dict):
            self.body = json.dumps(body).encode()
            self.headers = {"Content-Type": "application/json"}
        self.clients = clients
        self.max_seconds = max_seconds
        self.counts = Counter()
        self.failures = []
        self.failed_at = []  # time.monotonic() of every failed request, when it ended
        self.failed_sent = []  # ... and when it was sent
        self.failed_kinds = []  # ... and its key ("POST 502", "GET stale")
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._client, args=(i,)) for i in range(clients)]

    def __enter__(self):
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for t in self._threads:
            t.join()

    def _record(self, key, failure=None, sent=0.0):
        with self._lock:
            self.counts[key] += 1
            if failure:
                self.failed_at.append(time.monotonic())
                self.failed_sent.append(sent)
                self.failed_kinds.append(key)
            if failure and len(self.failures) < 50:
                self.failures.append(failure)

    def _client(self, index):
        deadline = time.monotonic() + self.max_seconds
        conn = None
        n = 0
        while not self._stop.is_set() and time.monotonic() < deadline:
            n += 1
            post = (n + index) % 2 == 0
            method, path = ("POST", self.post) if post else ("GET", self.get)
            sent = time.monotonic()
            reused = conn is not None
            try:
                if conn is None:
                    conn = self._connection()
                body = self.body if post else None
                headers = {**(self.headers if post else {}), **self._host()}
                conn.request(method, path, body=body, headers=headers)
                answer = conn.getresponse()
                answer.read()
                if answer.status in (200, 201):
                    self._record(f"{method} 200")
                else:
                    self._record(
                        f"{method} {answer.status}", f"{method} {path}: {answer.status}", sent
                    )
                if answer.getheader("connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as e:
                # An idle keep-alive connection the server closed as the request went out
                # (nginx's reload closes them): no byte of an answer came back.
                stale = reused and isinstance(e, STALE)
                key = f"{method} {'stale' if stale else 'error'}"
                self._record(key, f"{method} {path}: {type(e).__name__}: {e}", sent)
                if conn is not None:
                    conn.close()
                conn = None

    def _connection(self):
        if self.site is None:
            return http.client.HTTPConnection(self.host, self.port, timeout=30)
        return NamedHTTPS(self.host, self.port, *self.site)

    def _host(self):
        return {"Host": self.site[0]} if self.site else {}

    @property
    def total(self):
        return sum(self.counts.values())

    @property
    def error_seconds(self):
        """From the first failed request to the last (0 when none failed)."""
        return max(self.failed_at) - min(self.failed_at) if self.failed_at else 0.0

    @property
    def stale(self):
        """Requests lost on an idle keep-alive connection the server closed as they went
        out. HTTP lets a client send them again (RFC 9112, 9.3.1), and browsers do."""
        return sum(v for k, v in self.counts.items() if k.endswith(" stale"))

    @property
    def failed(self):
        return sum(v for k, v in self.counts.items() if not k.endswith(" 200"))
