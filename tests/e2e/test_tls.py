"""nginx in front with a certificate really obtained over ACME (pebble) for app.test.

pebble listens on the tests' network's own address, where certbot in the test host
reaches it, and validates the HTTP-01 challenge at the host's address on port 80, served
by the nginx site provision configured; clients reach nginx there on :80 and :443 with
the name app.test.
"""

import http.client
import json
import shutil
import socket
import ssl
import subprocess
import sys
import time

import pytest

from tests.acme import Pebble
from tests.helpers import ROOT, Web, recap

DOMAIN = "app.test"


@pytest.fixture(scope="module")
def acme(bootstrapped_host, net, tmp_path_factory):
    work = tmp_path_factory.mktemp("pebble")
    with Pebble(work, listen=net.gateway, answer=bootstrapped_host.address) as pebble:
        yield pebble


@pytest.fixture(scope="module")
def tls_app(tmp_path_factory):
    path = tmp_path_factory.mktemp("app") / "app"
    shutil.copytree(ROOT / "example-app", path)
    return path


@pytest.fixture(scope="module")
def deploy(bootstrapped_host, tls_app, acme):
    settings = ["--set", f"app_source={tls_app}", "--set", f"app_domain={DOMAIN}",
                "--set", f"acme_email=ops@{DOMAIN}", "--set", f"acme_directory={acme.directory}",
                "--set", f"acme_ca_bundle={acme.ca_bundle}", "--set", "nginx_rate=5r/s",
                "--set", "nginx_burst=5"]  # fmt: skip

    def run(*args):
        return bootstrapped_host.fab("deploy", *settings, *args)

    return run


@pytest.fixture(scope="module")
def host(bootstrapped_host):
    return bootstrapped_host.testinfra()


@pytest.fixture(scope="module")
def served(deploy):
    """The output of the module's first deploy with the domain: HTTPS from then on."""
    done = deploy()
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def request(acme, path, port=443, headers=None):
    """(status, headers, body, peer certificate) of a GET to app.test at the host."""
    sock = socket.create_connection((Web.address, port), timeout=10)
    cert = None
    if port == 443:
        context = ssl.create_default_context(cafile=str(acme.root))
        sock = context.wrap_socket(sock, server_hostname=DOMAIN)
        cert = sock.getpeercert()
    lines = [f"GET {path} HTTP/1.1", f"Host: {DOMAIN}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    answer = http.client.HTTPResponse(sock)
    answer.begin()
    body = answer.read() if answer.status != 101 else b""
    sock.close()
    return answer.status, dict(answer.getheaders()), body.decode(errors="replace"), cert


def test_deploy_obtains_a_certificate_and_serves_https(served, acme, host):
    assert f"[target] changed   nginx_site: certificate for {DOMAIN}" in served.stdout
    assert host.file(f"/etc/letsencrypt/live/{DOMAIN}/fullchain.pem").exists
    assert host.file(f"/etc/letsencrypt/live/{DOMAIN}/privkey.pem").exists
    status, headers, body, cert = request(acme, "/health")
    assert status == 200 and json.loads(body)["status"] == "ok"
    issuer = dict(pair[0] for pair in cert["issuer"])
    assert "Pebble" in issuer["commonName"]
    assert headers["Strict-Transport-Security"] == "max-age=63072000"
    assert headers["Server"] == "nginx"


def test_status_gives_the_certificates_days_to_expiry(served, bootstrapped_host):
    done = bootstrapped_host.fab("status", "--set", f"app_domain={DOMAIN}", "--set",
                                 f"acme_email=ops@{DOMAIN}")  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    [line] = [x for x in done.stdout.splitlines() if x.startswith("[target] certificate")]
    days = int(line.split()[2])
    assert days > 30 and "days left (expires " in line, line


# What sslyze holds against the test CA, not against the server: pebble's root is not a
# public one, and its certificates live five years.
TEST_CA_ONLY = {"certificate_path_validation", "maximum_certificate_lifespan"}


def test_sslyze_finds_no_server_side_failure_against_mozilla_intermediate(served):
    scan = subprocess.run([sys.executable, "-m", "sslyze", "--mozilla_config=intermediate",
                           f"{DOMAIN}:443{{{Web.address}}}"], capture_output=True, text=True,
                          timeout=600)  # fmt: skip
    print(scan.stdout, scan.stderr)
    section = scan.stdout.split("COMPLIANCE AGAINST TLS CONFIGURATION", 1)[1]
    assert f"{DOMAIN}:443" in section and "ERROR" not in section, section
    failed = {line.split("*", 1)[1].split(":", 1)[0].strip() for line in section.splitlines()
              if line.strip().startswith("* ")}  # fmt: skip
    assert failed <= TEST_CA_ONLY, section  # no curve, cipher, version or vulnerability


def test_no_stapling_error_in_nginxs_log(served, host):
    log = host.file("/var/log/nginx/error.log").content_string
    assert "stapling" not in log and "OCSP" not in log, log


def test_http_redirects_to_https_except_the_challenge(served, acme, host):
    status, headers, _, _ = request(acme, "/some/page?x=1", port=80)
    assert status == 301
    assert headers["Location"] == f"https://{DOMAIN}/some/page?x=1"
    host.check_output("echo probe > /var/www/letsencrypt/.well-known/acme-challenge/probe")
    status, _, body, _ = request(acme, "/.well-known/acme-challenge/probe", port=80)
    assert (status, body) == (200, "probe\n")


def test_tls_versions_and_app_sees_https(served, acme):
    context = ssl.create_default_context(cafile=str(acme.root))
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    with (
        socket.create_connection((Web.address, 443)) as raw,
        context.wrap_socket(raw, server_hostname=DOMAIN) as tls,
    ):
        assert tls.version() == "TLSv1.2"
    status, _, body, _ = request(acme, "/whoami")
    assert status == 200 and json.loads(body)["scheme"] == "https"


def test_websocket_handshake_through_nginx(served, acme):
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    headers = {"Upgrade": "websocket", "Connection": "Upgrade",
               "Sec-WebSocket-Key": key, "Sec-WebSocket-Version": "13"}  # fmt: skip
    status, answer, _, _ = request(acme, "/ws", headers=headers)
    assert status == 101
    assert answer["Upgrade"].lower() == "websocket"


def test_static_files_are_served_by_nginx(served, acme, host):
    status, headers, body, _ = request(acme, "/static/hello.txt")
    assert (status, body) == (200, "hello from provision's example app\n")
    assert "Expires" in headers
    log = host.check_output("journalctl -u hello --no-pager -o cat")
    assert "/static/hello.txt" not in log  # gunicorn never saw it


def test_rate_limit_answers_429(served, acme):
    statuses = [request(acme, "/health")[0] for _ in range(40)]
    assert 429 in statuses and 200 in statuses


def test_renewal_reloads_nginx_and_keeps_serving(served, acme, host):
    before = request(acme, "/health")[3]["serialNumber"]
    host.check_output("systemctl is-enabled certbot.timer")
    host.check_output(
        f"REQUESTS_CA_BUNDLE=/etc/provision/acme-ca.pem certbot renew --force-renewal "
        f"--server {acme.directory} --non-interactive --no-random-sleep-on-renew"
    )
    # `systemctl reload nginx` (the deploy hook) returns before nginx's new workers take
    # over, so the renewed certificate is served a moment later: wait for it, a while.
    deadline = time.monotonic() + 10
    while True:
        after = request(acme, "/health")
        assert after[0] == 200  # and nginx keeps serving meanwhile
        if after[3]["serialNumber"] != before or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert after[3]["serialNumber"] != before  # nginx serves the renewed certificate


def test_broken_config_is_never_left_in_place(served, deploy, acme, host):
    site = "/etc/nginx/conf.d/hello.conf"
    before = host.file(site).content_string
    done = deploy("--set", "nginx_client_max_body_size=10 zz")
    assert done.returncode == 1
    assert "[emerg]" in done.stdout, done.stdout
    assert 'invalid number of arguments in "client_max_body_size"' in done.stdout
    assert host.file(site).content_string == before
    assert request(acme, "/health")[0] == 200


def test_redeploy_with_nothing_changed(served, deploy, host):
    reloads = host.check_output("journalctl -u nginx --no-pager | grep -c Reloaded || true")
    done = deploy()
    assert done.returncode == 0, done.stdout
    assert recap(done.stdout)["target"]["changed"] == 0
    assert "reload nginx" not in done.stdout
    again = host.check_output("journalctl -u nginx --no-pager | grep -c Reloaded || true")
    assert again == reloads
