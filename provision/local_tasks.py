"""Provision's tasks that work here, with no server: a new project's inventory, the
sandbox, and the container road (an image, a compose file, Kubernetes manifests, all
from the inventory). ``provision.tasks`` holds them with the others.

provision image [--no-build]       the app's image: its Containerfile, context, and build
provision compose [--env]          a compose file: the app, PostgreSQL, nginx in front
provision kube [--secret]          Kubernetes manifests: Deployments, Service, Ingress, ...
"""

import os
from pathlib import Path
from types import SimpleNamespace

from fabric import task
from invoke.exceptions import Exit

from provision.commands import cli
from provision.commands.run import INVENTORY, project_root
from provision.project.inventory import KNOWN_HOSTS, STATE
from provision.project.plays import Options
from provision.release.deploy import DeployOptions

__all__ = ["compose", "image", "init", "kube", "sandbox"]

ROAD = {
    "set": "override a setting, NAME=VALUE (repeatable); wins over the inventory",
    "inventory": "inventory file (default: inventory.yaml)",
    "app": "the app, of the inventory's apps: (default: each app)",
}


def _exit(code):
    if code:
        raise Exit(code=code)


def _road():
    """The container road's commands, imported when one runs (no other command needs them)."""
    from provision.commands import containers

    return containers


def _asked(inventory, app, set):
    return _road().Asked(project_root(inventory), inventory, app, list(set or []))


@task(iterable=["set"], auto_shortflags=False, help={
    **ROAD,
    "build": "build it with buildah (--no-build: write the Containerfile and context only)",
    "base": "another base image than container_base, for this build",
})  # fmt: skip
def image(c, build=True, base="", set=None, app="", inventory=INVENTORY):
    """The app's image, from a release's inputs: Containerfile, build context, buildah."""
    _exit(_road().image(_asked(inventory, app, set), build=build, base=base))


@task(iterable=["set"], auto_shortflags=False, help={
    **ROAD,
    "env": "print the app's secrets as KEY=value lines (for --env-file), write nothing",
})  # fmt: skip
def compose(c, env=False, set=None, app="", inventory=INVENTORY):
    """A compose file: the app, its release command, PostgreSQL, nginx in front."""
    _exit(_road().compose(_asked(inventory, app, set), env=env))


@task(iterable=["set"], auto_shortflags=False, help={
    **ROAD,
    "secret": "print the app's Secret, with its values (for kubectl apply -f -), write nothing",
})  # fmt: skip
def kube(c, secret=False, set=None, app="", inventory=INVENTORY):
    """Kubernetes manifests: Deployments, Service, Ingress, autoscaler, Jobs, CronJobs."""
    _exit(_road().kube(_asked(inventory, app, set), secret=secret))


@task(help={"stop": "halt the sandbox host(s) and remove their files",
            "port": "SSH port on 127.0.0.1",
            "deploy": "then bootstrap it and deploy the example app",
            "hosts": "boot this many hosts on a private network instead (a fleet)"})  # fmt: skip
def sandbox(c, stop=False, port=2222, deploy=False, hosts=0):
    """Boot (or --stop) a local Debian 12 server to rehearse on: `bootstrap -H sandbox`."""
    from provision.sandbox import fleet
    from provision.sandbox import machines as sb

    root = project_root()
    state = Path(os.environ.get("PROVISION_SANDBOX_DIR", root / STATE / "sandbox"))
    try:
        if stop:
            print(fleet.stop_all(state))
            return
        print(fleet.start_fleet(state, int(hosts)) if hosts
              else sb.start_sandbox(state, root / KNOWN_HOSTS, port))  # fmt: skip
    except sb.SandboxError as e:
        raise Exit(f"error: {e}", code=2) from e
    if deploy and not hosts:
        on_sandbox = SimpleNamespace(original_host="sandbox", config=c.config)
        _exit(cli.bootstrap(on_sandbox, root, Options()))
        _exit(cli.deploy(on_sandbox, root, DeployOptions()))
        print("\nthe app is live: open http://127.0.0.1/ (its health: /health)")


@task
def init(c):
    """Write an inventory for the app in this folder (and a fabfile), read from its source;
    never overwrites a file."""
    from provision.commands import init as scaffold

    _exit(scaffold.init(Path.cwd()))
