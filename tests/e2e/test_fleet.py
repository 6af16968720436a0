"""Several servers: three app servers behind a load balancer, all real hosts on the tests'
private network, deployed in rolling batches under load through the balancer.

The module's fleet is bootstrapped and deployed once; each test starts from there.
"""

import contextlib
import json
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from tests.e2e.conftest import booted
from tests.e2e.fleet_kit import APPS, Fleet, ok, serving
from tests.helpers import HEALTH, ROOT, SICK_HEALTH, Web, recap, request
from tests.load import Load


@pytest.fixture(scope="module")
def fleet(bootstrapped_rootfs, net, tmp_path_factory):
    rootfs = bootstrapped_rootfs("bookworm")
    work = tmp_path_factory.mktemp("fleet")
    app = work / "app"
    shutil.copytree(ROOT / "example-app", app)
    main = (app / "main.py").read_text()
    assert HEALTH in main
    (app / "main.py").write_text(main.replace(HEALTH, SICK_HEALTH))
    with contextlib.ExitStack() as stack:
        hosts = {n: stack.enter_context(booted(n, rootfs, net)) for n in (*APPS, "lb")}
        made = Fleet(hosts, work, app)
        made.gateway = net.gateway
        Web.address = hosts["lb"].address
        first = made.fab("bootstrap", "web")
        ok(first)
        again = made.fab("bootstrap", "web")
        assert all(t["changed"] == 0 for t in recap(ok(again)).values()), again.stdout
        made.bootstrap_output = first.stdout
        ok(made.fab("deploy", "web"))
        yield made


def test_the_balancer_sends_to_every_app_server_which_listens_on_its_private_address(fleet):
    assert serving(set(APPS)) == set(APPS)
    lb = fleet.hosts["lb"].testinfra()
    conf = lb.file("/etc/nginx/conf.d/hello.conf").content_string
    for name in APPS:
        address = fleet.hosts[name].address
        assert f"server {address}:8000 max_fails=2 fail_timeout=10s;" in conf
        app = fleet.hosts[name].testinfra()
        assert app.socket(f"tcp://{address}:8000").is_listening
    assert "proxy_next_upstream error timeout" in conf
    # the app sees the client, through the balancer's forwarded headers
    status, body = request("GET", "/whoami")
    assert status == 200 and json.loads(body)["client"] == fleet.gateway, body
    # the app's port answers the balancer, and nobody else
    address = fleet.hosts["app1"].address
    url = f"http://{address}:8000/health"
    asked = lb.run(f"python3 -c 'import urllib.request as u; print(u.urlopen(\"{url}\").status)'")
    assert asked.stdout.strip() == "200", asked
    with pytest.raises(OSError):
        socket.create_connection((address, 8000), timeout=3).close()
    app1 = fleet.hosts["app1"].testinfra()
    assert app1.service("provision-firewall").is_enabled
    table = app1.check_output("nft list table inet provision_firewall")
    assert f"ip saddr {fleet.hosts['lb'].address} tcp dport 8000 accept" in table, table
    # the app's log from every app server; the balancer has none and says so
    logged = ok(fleet.fab("logs", "web", "-n", "2"))
    assert all(f"[{name}] " in logged for name in APPS), logged
    assert "[lb] no log named 'web' on lb (logs here: nginx-access, nginx-error)" in logged
    access = ok(fleet.fab("logs", "lb", "--process", "nginx-access", "-n", "1"))
    assert access.splitlines()[1].startswith("[lb] "), access
    listed = ok(fleet.fab("releases", "web"))
    assert "[lb] no app runs here" in listed
    assert all(f"[{name}] {fleet.live(name)}" in listed for name in APPS), listed


def test_a_port_the_firewall_does_not_open_is_unreachable_from_another_host(fleet):
    app1, lb = fleet.hosts["app1"].testinfra(), fleet.hosts["lb"].testinfra()
    address = fleet.hosts["app1"].address
    app1.run_test("systemd-run --unit provision-test-listener python3 -m http.server 9999 "
                  "--bind 0.0.0.0")  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not app1.socket("tcp://0.0.0.0:9999").is_listening:
            assert time.monotonic() < deadline, "the test listener never listened"
        assert (
            app1.run(
                'python3 -c "import urllib.request as u; u.urlopen('
                "'http://127.0.0.1:9999/', timeout=5)\""
            ).rc
            == 0
        )  # it answers there
        reach = ("python3 -c \"import socket; socket.create_connection(('{a}', {p}), "
                 "timeout=3).close()\"")  # fmt: skip
        assert lb.run(reach.format(a=address, p=9999)).rc != 0  # dropped: not let in
        assert lb.run(reach.format(a=address, p=22)).rc == 0  # SSH is
    finally:
        app1.run("systemctl stop provision-test-listener")


def test_a_burst_of_failed_ssh_logins_is_cut_off_while_the_operators_key_works(fleet):
    """From the balancer, 80 logins to app2 at once without a key it accepts: those within
    the burst of 60 are refused, the rest get no answer; the operator's key still gets in."""
    lb = fleet.hosts["lb"].testinfra()
    address = fleet.hosts["app2"].address
    login = (
        "ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o ConnectTimeout=5 "
        f"-o IdentitiesOnly=yes -i /dev/null root@{address} true 2>&1 | tail -n 1"
    )
    burst = lb.run(f"seq 80 | xargs -P 80 -I{{}} sh -c '{login}'")
    lines = burst.stdout.splitlines()
    assert len(lines) == 80, burst.stdout
    refused = [line for line in lines if "Permission denied" in line]
    cut = [line for line in lines if "Connection timed out" in line]  # no answer at all
    # sshd answered those within the burst (refused, or turned away by its own MaxStartups);
    # the firewall dropped the rest
    assert refused and len(cut) >= 10, burst.stdout
    # the operator: a new connection from this machine, by key
    assert ok(fleet.fab("status", "app2")).count("[app2] web ") == 1


def test_logs_follow_status_and_exec_across_the_group(fleet):
    token = f"/follow-{time.monotonic_ns()}"
    command = [sys.executable, "-m", "fabric", "-H", "app", "logs", "--follow", "--grep", token,
               "--inventory", str(fleet.inventory)]  # fmt: skip
    # Ctrl-C as a terminal sends it (a shell that ran these tests in the background may
    # have left SIGINT ignored, and a child inherits that)
    follower = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in follower.stdout], daemon=True).start()
    try:
        assert lines.get(timeout=60).startswith("logs -> app1 (")
        seen, deadline = set(), time.monotonic() + 60
        while len(seen) < 2:  # lines from several hosts, each marked with its own
            assert time.monotonic() < deadline, f"lines only from {seen}"
            request("GET", token)
            with contextlib.suppress(queue.Empty):
                line = lines.get(timeout=1)
                assert token in line, line
                seen.add(line.split("]")[0].lstrip("["))
        assert seen <= set(APPS) and follower.poll() is None
        follower.send_signal(signal.SIGINT)  # Ctrl-C ends every host's follow
        assert follower.wait(timeout=30) == 0
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait()
    status = json.loads(ok(fleet.fab("status", "web", "--json")))
    assert set(status) == {*APPS, "lb"}
    assert all(status[name]["web"]["active"] for name in APPS) and "web" not in status["lb"]
    assert {status[name]["release"]["live"] for name in APPS} == {fleet.live("app1")}
    ran = fleet.fab("exec", "web", "--", "hostname")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ran.stdout.split() == list(APPS)  # each in turn; the balancer has no app
    assert "[lb] no app runs here: passed over" in ran.stderr
    one = fleet.fab("exec", "app", "--one", "--", "hostname; exit 4")
    assert (one.returncode, one.stdout) == (4, "app1\n"), one.stdout + one.stderr


def test_rolling_deploys_and_rollbacks_under_load_drop_no_request(fleet):
    seen = []
    with Load(Web.address, 80, clients=4, get="/", post="/echo") as load:
        for _ in range(5):
            out = ok(fleet.fab("deploy", "web", "--force"))
            assert "-- batch 3 of 3: app3" in out, out
            print(out)
            seen.append({fleet.live(n) for n in APPS})
        for _ in range(2):
            out = ok(fleet.fab("rollback", "web"))
            seen.append({fleet.live(n) for n in APPS})
    assert load.counts["GET 200"] > 100 and load.counts["POST 200"] > 100, load.counts
    assert load.failed == 0, load.failures
    assert all(len(on) == 1 for on in seen), seen  # every app server on one release
    assert len({on.pop() for on in seen[:5]}) == 5
    assert "[lb] ok        release: rollback  (no app runs here)" in out


def test_a_release_failing_its_gate_in_the_second_batch_stops_and_all_go_back(fleet):
    before = {fleet.live(n) for n in APPS}
    assert len(before) == 1
    (fleet.app / "SICK_ON").write_text("app2\n")
    try:
        with Load(Web.address, 80, clients=4, get="/", post="/echo") as load:
            done = fleet.fab("deploy", "web", "--force")
    finally:
        (fleet.app / "SICK_ON").unlink()
    print(done.stdout)
    assert done.returncode == 1, done.stdout
    assert "-- stopped before batch 3: app2 failed (deploy_max_fail: 0)" in done.stdout
    assert "[app3] changed   release: not switched" in done.stdout
    assert "[lb] ok        release: converge  (not run: the deploy stopped" in done.stdout
    assert {fleet.live(n) for n in APPS} == before
    assert f"-- deploy stopped: app1, app2, app3 on {before.pop()}" in done.stdout
    assert load.counts["GET 200"] > 20 and load.counts["POST 200"] > 20, load.counts
    assert load.failed == 0, load.failures


def test_an_app_server_added_to_the_inventory_joins_on_the_next_deploy(
    fleet, bootstrapped_rootfs, net
):
    rootfs = bootstrapped_rootfs("bookworm")
    with booted("app4", rootfs, net) as app4:
        fleet.hosts["app4"] = app4
        with Load(Web.address, 80, clients=4, get="/", post="/echo") as load:
            try:
                fleet.write(APPS, extra_hosts=["app4"])
                ok(fleet.fab("bootstrap", "app4"))
                out = ok(fleet.fab("deploy", "web"))
                assert "[app4] changed   release: switch  (nothing -> " in out
                assert "[lb] changed   nginx handler: reload nginx" in out
                assert serving({*APPS, "app4"}) == {*APPS, "app4"}
            finally:
                del fleet.hosts["app4"]
                fleet.write(APPS)
            ok(fleet.fab("deploy", "web"))  # and leaves with the next one
            assert serving(set(APPS)) == set(APPS)
    assert load.counts["GET 200"] > 20 and load.counts["POST 200"] > 20, load.counts
    # Each of the balancer's two reloads closes the clients' idle keep-alive connections:
    # a request sent on one just then gets no answer (at most one per client and reload),
    # and a client may send it again. Nothing else may fail.
    print(f"\nadded and removed under load: {dict(load.counts)}")
    assert load.failed == load.stale <= 2 * 4, load.failures


def test_an_app_server_that_stops_mid_run_is_reported_and_the_balancer_serves_on(fleet):
    """app3 goes away while a deploy runs: once the canary switched, and before its own
    batch (a pause of 10 s between batches gives its shutdown time). A POST in flight on
    a server as it goes away is lost (nginx cannot know whether it was handled, so it
    does not send it again): at most one per client, and none sent once it is gone
    but for nginx's reload (below)."""
    command = [sys.executable, "-m", "fabric", "-H", "web", "deploy", "--inventory",
               str(fleet.inventory), "--force", "--set", "deploy_max_fail=1",
               "--set", "deploy_pause=10"]  # fmt: skip
    printed, gone = [], None
    with Load(Web.address, 80, clients=4, get="/", post="/echo") as load:
        run = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)  # fmt: skip
        for line in run.stdout:
            printed.append(line)
            if line.startswith("-- batch 2 of 3") and gone is None:
                fleet.hosts["app3"].machine.stop()
                gone = time.monotonic()
        out = "".join(printed)
        print(out)
        assert run.wait(timeout=60) == 1 and gone is not None, out
        assert serving({"app1", "app2"}) == {"app1", "app2"}
    assert recap(out)["app3"]["failed"] == 1
    assert "[app3] error: app3: the SSH connection was lost" in out
    assert "-- deploy: 3 app servers: app1, app2 on " in out
    lb = fleet.hosts["lb"].testinfra()
    conf = lb.file("/etc/nginx/conf.d/hello.conf").content_string
    assert f"server {fleet.hosts['app3'].address}:8000 max_fails=2 fail_timeout=10s down;" in conf
    assert load.counts["GET 200"] > 20 and load.counts["POST 200"] > 20, load.counts
    # and, as the balancer reloads to mark app3 down, at most one request per client on
    # an idle keep-alive connection the reload closed (see the test above)
    lost = [k for k in load.failed_kinds if not k.endswith(" stale")]
    assert len(lost) <= 4 and set(lost) <= {"POST 502"}, load.failures
    assert load.stale <= 4, load.failures
    late = [k for t, k in zip(load.failed_sent, load.failed_kinds, strict=True) if t > gone]
    assert set(late) <= {"GET stale", "POST stale"}, load.failures
