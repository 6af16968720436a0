"""`fab bootstrap` against a real, fresh Debian 12 host; testinfra checks it from outside.

Two hosts: `pristine`, which no test changes (--check, and a refused deploy, prove they
change nothing), and the module's host, bootstrapped once by the `converged` fixture
(so every test stands alone). The deploy user test, last, turns root login off there.
"""

import io
from pathlib import Path

import pytest

from provision.core.operations import files
from provision.core.output import Output
from provision.core.runner import Task, TaskRun
from provision.core.transport import Session
from provision.project.apply import apply
from provision.project.inventory import InventoryError
from provision.project.plays import Options, Project
from provision.sandbox import machines as sandbox
from tests.e2e.conftest import booted
from tests.helpers import ROOT, fab, recap

# Debian 12, and Debian 13 ("trixie"): what a new cloud VM gets
SUITES = ("bookworm", "trixie")

SSHD_CONF = "/etc/ssh/sshd_config.d/10-provision.conf"
WATCHED = "/etc /srv /home /usr /var/lib/dpkg /var/lib/apt"


@pytest.fixture(scope="module")
def pristine(module_rootfs, net):
    """A fresh host that the tests using it promise, and check, not to change."""
    with booted("pristine", module_rootfs, net) as host:
        yield host


@pytest.fixture(scope="module")
def converged(test_host):
    """The output of the first `fab bootstrap` of the module's host."""
    done = test_host.fab("bootstrap")
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.fixture(scope="module")
def host(test_host, converged):
    return test_host.testinfra()


def tasks_of(stdout):
    """How many tasks a run reported (ok + changed + failed), handlers not counted."""
    handlers = [line for line in stdout.splitlines() if " handler: " in line]
    return sum(recap(stdout)["target"].values()) - len(handlers)


def sshd_settings(host):
    out = host.check_output("sshd -T")
    return dict(line.split(" ", 1) for line in out.splitlines() if " " in line)


def test_check_on_a_fresh_host_lists_changes_and_changes_nothing(pristine):
    host = pristine.testinfra()
    host.check_output("touch /tmp/before-check")
    done = pristine.fab("bootstrap", "--check")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[target] would-chg base: packages procps, logrotate, unattended-upgrades" in done.stdout
    assert "[target] would-chg nginx: packages nginx" in done.stdout
    assert "[target] would-chg app: user app  (create)" in done.stdout
    assert recap(done.stdout)["target"]["changed"] > 5
    assert recap(done.stdout)["target"]["failed"] == 0
    changed = host.check_output(f"find {WATCHED} -xdev -newer /tmp/before-check")
    assert changed == ""
    assert not host.user("app").exists
    assert not host.package("nginx").is_installed
    assert not host.file("/srv/hello").exists
    assert not host.file(SSHD_CONF).exists


def test_deploy_on_a_server_never_bootstrapped_is_refused(pristine):
    host = pristine.testinfra()
    host.check_output("touch /tmp/before-deploy")
    done = pristine.fab("deploy")
    assert done.returncode == 1
    assert (
        "[target] error: `fab bootstrap` has not completed on target: run `fab bootstrap -H "
        "target` first (it sets up what `deploy` relies on, SSH hardening included); nothing "
        "was changed"
    ) in done.stdout
    assert "release: build" not in done.stdout
    assert host.check_output(f"find {WATCHED} -xdev -newer /tmp/before-deploy") == ""


def test_bootstrap_converges(converged):
    counts = recap(converged.stdout)["target"]
    assert counts["failed"] == 0 and counts["changed"] >= 8, converged.stdout
    assert "[target] changed   ssh handler: reload ssh" in converged.stdout
    assert "[target] changed   provision: played bootstrap  (create)" in converged.stdout


def test_a_setting_of_another_play_is_accepted(test_host, converged):
    done = test_host.fab("bootstrap", "--set", "acme_email=ops@example.org")
    assert done.returncode == 0, done.stdout + done.stderr
    assert recap(done.stdout)["target"]["changed"] == 0


def test_app_user_is_a_non_root_system_account(host):
    app = host.user("app")
    assert app.exists
    assert app.uid != 0 and app.uid < 1000
    assert app.shell == "/usr/sbin/nologin"
    assert app.home == "/srv/hello"
    assert "sudo" not in app.groups
    assert "not allowed to run sudo" in host.check_output("sudo -l -U app")


def test_packages_installed_and_nginx_running(host):
    for name in ("nginx", "logrotate", "unattended-upgrades"):
        assert host.package(name).is_installed
    assert not host.package("python3-venv").is_installed  # only pip needs it (uv builds)
    nginx = host.service("nginx")
    assert nginx.is_running and nginx.is_enabled


@pytest.mark.parametrize(
    "path, owner, mode",
    [("/srv/hello", "root", 0o755), ("/srv/hello/releases", "root", 0o755),
     ("/srv/hello/venvs", "root", 0o755), ("/srv/hello/shared", "app", 0o750)],
)  # fmt: skip
def test_directory_layout(host, path, owner, mode):
    """The code's directories are root's (the app only reads them); shared/ is the app's."""
    d = host.file(path)
    assert d.is_directory
    assert (d.user, d.group, d.mode) == (owner, owner, mode)


def test_security_updates_are_automatic_and_their_dry_run_succeeds(host, converged):
    assert host.package("unattended-upgrades").is_installed
    conf = host.check_output("apt-config dump")
    for line in ('APT::Periodic::Unattended-Upgrade "1";',
                 'Unattended-Upgrade::Automatic-Reboot "false";'):  # fmt: skip
        assert line in conf, line
    dry = host.run("unattended-upgrade --dry-run --debug")
    assert dry.rc == 0, dry.stdout + dry.stderr
    # the security archive only, of the host's own Debian release
    codename = host.system_info.codename
    assert (f"Allowed origins are: origin=Debian,codename={codename},label=Debian-Security, "
            f"origin=Debian,codename={codename}-security,label=Debian-Security\n") in (
        dry.stdout + dry.stderr)  # fmt: skip


def test_sshd_is_key_only(host):
    settings = sshd_settings(host)
    assert settings["passwordauthentication"] == "no"
    assert settings["kbdinteractiveauthentication"] == "no"
    assert settings["permitrootlogin"] == "without-password"
    conf = host.file(SSHD_CONF)
    assert (conf.user, conf.mode) == ("root", 0o644)
    assert host.service("ssh").is_running


def test_second_run_changes_nothing(test_host, converged):
    done = test_host.fab("bootstrap")
    assert done.returncode == 0, done.stdout + done.stderr
    total = tasks_of(converged.stdout)
    assert recap(done.stdout) == {"target": {"ok": total, "changed": 0, "failed": 0}}
    assert "reload ssh" not in done.stdout


@pytest.mark.parametrize("settings", [
    ["--set", "app_name=bookmarks"],
    ["--set", "app_name=bookmarks", "--check"],
], ids=["renamed", "check"])  # fmt: skip
def test_a_renamed_app_is_refused_before_anything_changes(test_host, host, converged, settings):
    """app_name changed in an inventory of one app: the new name would take the user
    (app) of the app the server holds; a rename is a remove and an add."""
    done = test_host.fab("bootstrap", *settings)
    assert done.returncode == 1, done.stdout + done.stderr
    assert ("bookmarks would take the user of hello (/srv/hello, user app), an app this "
            "server holds that the inventory no longer names. Renaming an app is a remove and "
            "an add: `provision remove --app hello -H target` first") in done.stdout  # fmt: skip
    assert recap(done.stdout)["target"]["changed"] == 0, done.stdout
    assert not host.file("/srv/bookmarks").exists and not host.user("bookmarks").exists
    assert host.file("/var/lib/provision/apps/hello").content_string == "/srv/hello app\n"


def test_an_app_no_longer_named_is_left_alone_beside_the_new_one(test_host, host, converged):
    """Another app with a user of its own: set up beside the one the server holds, which
    keeps its site and nginx's default; then removed, as the inventory names hello again."""
    other = ["--set", "app_name=bookmarks", "--set", "app_user=bookmarks"]
    done = test_host.fab("bootstrap", *other)
    try:
        assert done.returncode == 0, done.stdout + done.stderr
        assert ("server_apps: apps here  (also here, not in the inventory: hello (in "
                "/srv/hello); left alone") in done.stdout  # fmt: skip
        assert host.user("bookmarks").exists and host.file("/srv/hello/shared").user == "app"
        sites = host.check_output("grep -l default_server /etc/nginx/conf.d/*.conf").split()
        assert sites == ["/etc/nginx/conf.d/hello.conf"]
    finally:
        gone = test_host.fab("remove", "--app", "bookmarks")
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert not host.user("bookmarks").exists and not host.file("/srv/bookmarks/releases").exists
    again = test_host.fab("bootstrap")
    assert again.returncode == 0 and "also here" not in again.stdout, again.stdout


def test_noop_run_costs_two_round_trips(test_host, converged):
    """Through the library entry point, as a tool other than `fab` would drive it."""
    project = Project.load(ROOT, test_host.inventory)
    targets = project.targets("target")
    [tally] = apply(project, "bootstrap", targets, Options(), Output(io.StringIO())).values()
    assert (tally.changed, tally.failed) == (0, 0)
    assert tally.round_trips == 2  # host facts, then every task's facts at once


def test_the_library_entry_point_checks_and_honours_overrides(test_host, host, converged):
    project = Project.load(ROOT, test_host.inventory)
    targets = project.targets("target")
    out = io.StringIO()
    wanted = Options(check=True, overrides={"security_updates_reboot": True})
    [tally] = apply(project, "bootstrap", targets, wanted, Output(out)).values()
    assert (tally.changed, tally.failed) == (1, 0), out.getvalue()
    assert "base: file /etc/apt/apt.conf.d/90provision-upgrades" in out.getvalue()
    assert 'Automatic-Reboot "false"' in host.file(
        "/etc/apt/apt.conf.d/90provision-upgrades").content_string  # fmt: skip
    with pytest.raises(InventoryError, match="--set app_workers: expected an integer"):
        apply(project, "bootstrap", targets, Options(overrides={"app_workers": "many"}),
              Output(io.StringIO()))  # fmt: skip
    with pytest.raises(InventoryError, match="--set serves: expected one of all, app, balancer"):
        apply(project, "bootstrap", targets, Options(overrides={"serves": "everything"}),
              Output(io.StringIO()))  # fmt: skip


def test_drift_is_shown_by_diff_then_repaired(test_host, host, converged):
    host.check_output(f"echo 'PasswordAuthentication yes' >> {SSHD_CONF}; chmod 0666 {SSHD_CONF}")
    host.check_output("chmod 0777 /srv/hello/shared")
    check = test_host.fab("bootstrap", "--check", "--diff")
    assert check.returncode == 0
    assert "[target] -PasswordAuthentication yes" in check.stdout
    assert host.file("/srv/hello/shared").mode == 0o777  # --check changed nothing
    done = test_host.fab("bootstrap")
    total = tasks_of(converged.stdout)
    assert recap(done.stdout) == {"target": {"ok": total - 2, "changed": 3, "failed": 0}}
    assert "[target] changed   ssh handler: reload ssh" in done.stdout
    assert host.file("/srv/hello/shared").mode == 0o750
    assert "PasswordAuthentication yes" not in host.file(SSHD_CONF).content_string
    assert host.file(SSHD_CONF).mode == 0o644


def test_config_failing_validation_is_never_left_in_place(test_host, host):
    before = host.file(SSHD_CONF).content_string
    bad = files.file(SSHD_CONF, "NoSuchDirective yes\n", validate="sshd -t", notify="reload ssh")
    stream = io.StringIO()
    with Session(test_host.machine.target()) as session:
        run = TaskRun(session, Output(stream), [Task("test", bad)], {})
        tally = run.run()
    assert tally.failed == 1
    assert "Bad configuration option: NoSuchDirective" in stream.getvalue()
    assert host.file(SSHD_CONF).content_string == before
    assert not host.file("/etc/ssh/sshd_config.d/.10-provision.conf.provision-new").exists
    assert not host.file("/etc/ssh/sshd_config.d/.10-provision.conf.provision-old").exists


def test_refused_key_names_the_host(test_host, converged):
    other = sandbox.keypair(test_host.work / "stranger")
    inv = test_host.work / "stranger.yaml"
    inv.write_text(f"hosts:\n  target: {{address: {test_host.address}, port: 22, key: {other}}}\n")
    done = fab("-H", "target", "bootstrap", "--inventory", str(inv), timeout=30)
    assert done.returncode == 1
    where = f"root@{test_host.address}:{test_host.machine.port}"
    assert f"[target] error: target: {where}: SSH authentication failed" in done.stdout
    assert recap(done.stdout) == {"target": {"ok": 0, "changed": 0, "failed": 1}}


def test_adhoc_address_with_fabric_identity_flag(test_host, converged):
    where = f"root@{test_host.address}:{test_host.machine.port}"
    done = fab("-i", str(test_host.key), "-H", where, "bootstrap", "--inventory",
               str(test_host.inventory), timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    total = tasks_of(converged.stdout)
    assert recap(done.stdout) == {where: {"ok": total, "changed": 0, "failed": 0}}


def test_deploy_user_then_root_login_off(test_host, converged):
    pub = f"{test_host.key}.pub"
    keys = ["--set", "deploy_user=ops", "--set", f"deploy_user_keys=[{pub}]"]
    done = test_host.fab("bootstrap", *keys)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[target] changed   ssh: user ops" in done.stdout

    as_root = test_host.fab("bootstrap")
    assert as_root.returncode == 1
    assert "SSH authentication failed" in as_root.stdout

    inv = Path(test_host.inventory)
    inv.write_text(inv.read_text().replace("user: root", "user: ops"))
    again = test_host.fab("bootstrap", *keys)
    assert again.returncode == 0, again.stdout + again.stderr
    assert recap(again.stdout)["target"]["changed"] == 0

    host = test_host.testinfra(user="ops")
    assert sshd_settings(host)["permitrootlogin"] == "no"
    ops = host.user("ops")
    assert "sudo" in ops.groups and ops.shell == "/bin/bash"
    keys_file = host.file("/home/ops/.ssh/authorized_keys")
    assert (keys_file.user, keys_file.mode) == ("ops", 0o600)
    assert keys_file.content_string.strip() == Path(pub).read_text().strip()
    assert host.file("/etc/sudoers.d/provision-ops").mode == 0o440
