"""Three app servers and a balancer on the tests' private network: their inventory, and
what the balancer answers (tests/e2e/test_fleet.py)."""

import json
import time

from tests.helpers import fab, request

APPS = ("app1", "app2", "app3")


class Fleet:
    def __init__(self, hosts, work, app):
        self.hosts, self.work, self.app = hosts, work, app
        self.inventory = work / "inventory.yaml"
        self.write(APPS)

    def write(self, apps, extra_hosts=()):
        """An inventory: ``apps`` in group `app`, the balancer `lb` sending to it."""
        lines = ["vars:", f"  app_source: {self.app}", "  nginx_rate: 100000r/s",
                 "  deploy_batch: [1]", "hosts:"]  # fmt: skip
        for name, machine in self.hosts.items():
            serves = "balancer, balancer_upstream: app" if name == "lb" else "app"
            lines.append(f"  {name}: {{address: {machine.address}, user: root, "
                         f"key: {machine.key}, vars: {{serves: {serves}}}}}")  # fmt: skip
        members = [*apps, *extra_hosts]
        lines += ["groups:", f"  app: {{hosts: [{', '.join(members)}]}}",
                  f"  web: {{hosts: [{', '.join([*members, 'lb'])}]}}"]  # fmt: skip
        self.inventory.write_text("\n".join(lines) + "\n")

    def fab(self, task, hosts, *args, timeout=900):
        return fab("-H", hosts, task, "--inventory", str(self.inventory), *args, timeout=timeout)

    def run(self, name, command):
        machine = self.hosts[name]
        return machine.testinfra().check_output(command)

    def live(self, name):
        return self.run(name, "readlink /srv/hello/current").rsplit("/", 1)[-1]


def ok(done):
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def served_by(n=12):
    """The app servers that answered ``n`` requests through the balancer."""
    hosts = set()
    for _ in range(n):
        status, body = request("GET", "/health")
        assert status == 200, body
        hosts.add(json.loads(body)["host"])
    return hosts


def serving(expected, within=30):
    """Whether the balancer's answers come from exactly ``expected`` within the deadline
    (a reloaded nginx's old workers finish what they accepted with the old list)."""
    deadline = time.monotonic() + within
    while (seen := served_by(4 * len(expected))) != expected and time.monotonic() < deadline:
        pass
    return seen
