"""Debian 13 ("trixie", what a new cloud VM gets): bootstrap twice, with PostgreSQL, then
a deploy, a code-only deploy and a rollback, on a real trixie host."""

import json
import shutil

import pytest

from provision.sandbox import machines as sandbox
from tests.e2e.conftest import booted
from tests.helpers import ROOT, Web, get, recap


@pytest.fixture(scope="module")
def trixie(rootfs, net):
    with booted("trixie", sandbox.base_rootfs(suite="trixie"), net) as host:
        Web.address = host.address
        yield host


@pytest.fixture(scope="module")
def bootstrapped(trixie):
    done = trixie.fab("bootstrap", "--set", "postgres_enabled=true")
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_bootstrap_on_trixie_converges_and_a_second_run_changes_nothing(trixie, bootstrapped):
    host = trixie.testinfra()
    assert host.system_info.distribution == "debian" and host.system_info.release.startswith("13")
    assert host.check_output("python3 --version").startswith("Python 3.13")
    assert "postgres: file /etc/postgresql/17/main/conf.d/provision.conf" in bootstrapped.stdout
    again = trixie.fab("bootstrap", "--set", "postgres_enabled=true")
    assert again.returncode == 0, again.stdout + again.stderr
    assert recap(again.stdout)["target"]["changed"] == 0, again.stdout
    assert "DATABASE_URL=" in host.file("/srv/hello/shared/.env").content_string
    assert host.service("nginx").is_running and host.service("postgresql").is_running


def test_deploy_and_rollback_on_trixie(trixie, bootstrapped, tmp_path):
    app = tmp_path / "app"
    shutil.copytree(ROOT / "example-app", app)
    settings = ("--set", f"app_source={app}", "--set", "postgres_enabled=true")
    first = trixie.fab("deploy", *settings)
    assert first.returncode == 0, first.stdout + first.stderr
    status, body = get("/health")
    assert status == 200
    one = json.loads(body)["release"]
    (app / "main.py").write_text((app / "main.py").read_text() + "\n# a code-only change\n")
    second = trixie.fab("deploy", *settings)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "0 new wheel(s)" in second.stdout
    two = json.loads(get("/health")[1])["release"]
    assert two != one
    back = trixie.fab("rollback", "--set", "postgres_enabled=true")
    assert back.returncode == 0, back.stdout + back.stderr
    assert json.loads(get("/health")[1])["release"] == one
