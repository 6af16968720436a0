"""A real ACME server for TLS tests: Debian's pebble, with pebble-challtestsrv as its DNS.

pebble listens on ``listen`` (the tests' network's own address, which test hosts reach);
its DNS on 127.0.0.1. Any domain resolves to ``answer``, the test host that serves the
HTTP-01 challenge on port 80.
"""

import json
import os
import shutil
import signal
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path


class Pebble:
    """``with Pebble(tmp) as acme:`` then ``acme.ca_bundle`` (trust for the ACME API) and
    ``acme.root`` (the root that issued certificates chain to)."""

    def __init__(self, work: Path, listen: str, answer: str):
        self.work = work
        self.listen, self.answer = listen, answer
        self.directory = f"https://{listen}:14000/dir"
        self.procs = []
        self.ca_bundle = work / "pebble-listener.pem"
        self.root = work / "pebble-root.pem"

    def __enter__(self):
        missing = [t for t in ("pebble", "pebble-challtestsrv", "openssl") if not shutil.which(t)]
        if missing:
            raise RuntimeError(f"TLS tests need {', '.join(missing)} (apt-get install pebble)")
        key = self.work / "pebble-listener.key"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=localhost", "-addext", f"subjectAltName=DNS:localhost,IP:{self.listen}",
             "-keyout", str(key), "-out", str(self.ca_bundle)],
            check=True, capture_output=True,
        )  # fmt: skip
        config = self.work / "pebble.json"
        config.write_text(json.dumps({"pebble": {
            "listenAddress": f"{self.listen}:14000",
            "managementListenAddress": f"{self.listen}:15000",
            "certificate": str(self.ca_bundle), "privateKey": str(key),
            "httpPort": 80, "tlsPort": 443, "ocspResponderURL": "",
            "externalAccountBindingRequired": False,
        }}))  # fmt: skip
        try:
            self._start(["pebble-challtestsrv", "-defaultIPv4", self.answer, "-defaultIPv6", "",
                         "-dns01", "127.0.0.1:8053", "-http01", "", "-https01", "",
                         "-tlsalpn01", "", "-management", "127.0.0.1:8055"], "dns")  # fmt: skip
            # No random validation delays, and no nonce rejected on purpose (badNonce).
            quiet = {"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0"}
            self._start(["pebble", "-config", str(config), "-dnsserver", "127.0.0.1:8053"],
                        "pebble", env=quiet)  # fmt: skip
            self.root.write_bytes(self._get(f"https://{self.listen}:15000/roots/0"))
        except BaseException:
            self.__exit__()
            raise
        return self

    def _start(self, argv, name, env=None):
        log = open(self.work / f"{name}.log", "wb")  # noqa: SIM115 (closed with the process)
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, **(env or {})})  # fmt: skip
        self.procs.append((proc, log))

    def _get(self, url, timeout=20):
        context = ssl.create_default_context(cafile=str(self.ca_bundle))
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(url, context=context, timeout=5) as answer:
                    return answer.read()
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def __exit__(self, *exc):
        for proc, log in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            log.close()
        self.procs = []
