"""A role written against provision.api alone (docs/roles/redis), run with the stock roles
on a real host: a project that holds it in its roles/ and names it in its own plays.
"""

import shutil
import subprocess
import sys

import pytest
import yaml

from provision.project.roles_path import stock_roles
from tests.helpers import ROOT, recap

REDIS = ROOT / "docs" / "roles" / "redis"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A project of its own: the one-line fabfile, the redis role in its roles/, and its
    plays: the stock ones with redis in the bootstrap of every kind of host."""
    root = tmp_path_factory.mktemp("project")
    shutil.copy(ROOT / "fabfile.py", root)
    shutil.copytree(REDIS, root / "roles" / "redis")
    (root / "example-app").symlink_to(ROOT / "example-app")
    plays = yaml.safe_load((stock_roles() / "plays.yaml").read_text())
    for roles in plays["bootstrap"]["roles"].values():
        roles.append("redis")
    (root / "roles" / "plays.yaml").write_text(yaml.safe_dump(plays))
    return root


@pytest.fixture(scope="module")
def fab(project, bootstrapped_host):
    def run(*args):
        command = [sys.executable, "-m", "fabric", "-r", str(project), "-H", "target",
                   args[0], "--inventory", str(bootstrapped_host.inventory), *args[1:]]  # fmt: skip
        return subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=600)

    return run


@pytest.fixture(scope="module")
def bootstrapped(fab):
    done = fab("bootstrap")
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_bootstrap_runs_the_role_after_the_stock_ones(bootstrapped, fab, host):
    lines = [line for line in bootstrapped.stdout.splitlines() if line.startswith("[target] ")]
    redis = [i for i, line in enumerate(lines) if " redis " in line]
    assert redis and redis[0] > max(i for i, line in enumerate(lines) if " firewall " in line)
    assert host.service("redis-server").is_running
    assert host.check_output("redis-cli -p 6379 config get maxmemory-policy").split() == [
        "maxmemory-policy", "allkeys-lru"]  # fmt: skip
    assert host.socket("tcp://127.0.0.1:6379").is_listening
    assert not host.socket("tcp://0.0.0.0:6379").is_listening
    again = fab("bootstrap")
    assert again.returncode == 0 and recap(again.stdout)["target"]["changed"] == 0, again.stdout


def test_a_changed_setting_restarts_it_through_its_handler(bootstrapped, fab, host):
    done = fab("bootstrap", "--set", "redis_maxmemory_mb=64")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "redis handler: restart redis" in done.stdout
    assert host.check_output("redis-cli config get maxmemory").split() == [
        "maxmemory", str(64 * 1024 * 1024)]  # fmt: skip
    assert fab("bootstrap").returncode == 0  # back to the role's default


def test_its_check_refuses_a_setting_before_any_connection(bootstrapped, fab):
    done = fab("bootstrap", "--set", "redis_maxmemory_policy=lru")
    assert done.returncode == 2
    assert done.stderr.strip() == ("error: --set redis_maxmemory_policy: expected one of "
                                   "allkeys-lru, noeviction, volatile-lru, allkeys-lfu, "
                                   "volatile-lfu")  # fmt: skip
    assert done.stdout == ""


def test_status_and_logs_read_it(bootstrapped, fab):
    status = fab("status", "--json")
    assert status.returncode == 0, status.stdout + status.stderr
    assert '"redis"' in status.stdout and '"active": true' in status.stdout
    logs = fab("logs", "--process", "redis", "-n", "20")
    assert logs.returncode == 0, logs.stdout + logs.stderr
    assert "Ready to accept connections" in logs.stdout
