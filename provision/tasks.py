"""Provision's tasks, for `provision` and for Fabric's `fab`: thin wrappers that parse
options and call the engine. A repository's ``fabfile.py`` makes them `fab`'s with one
line (``provision init`` writes it)::

    from provision.tasks import *  # noqa: F403

provision init                     an inventory for the app in this folder, and a fabfile
provision bootstrap -H web1        first-time server setup
provision deploy -H web1           ship the app, zero downtime, health-gated
provision deploy -H web            a group: app servers in health-gated batches, then balancers
provision rollback -H web1         back to the previous good release
provision releases -H web1         list releases, marking the live one
provision status -H web1 [--json]  the live release, services, jobs, certificate, disk, deploys
provision exec -H web1 -- alembic current  a command in the live release, as the app
provision doctor [-H web1]         common production mistakes: the app's source, then the servers
provision backup -H web1           back up the app's PostgreSQL database now
provision logs -H web1 [-n 50]     the app's log (--process nginx-access: nginx's)
provision remove -H web1 --app shop  take an app the inventory no longer names off a server
provision maintenance on -H web1   nginx answers 503 and a page for the app (off: the app again)
provision sandbox [--deploy]       a local Debian test server (root); --deploy: the app too
provision sandbox --hosts 3        a fleet of three, on a private network of their own
provision image | compose | kube   the container road, from the same inventory

The project is the folder that holds the inventory: the current one, or the nearest above
it that has ``inventory.yaml``. Relative paths in settings are read from there, and so
are its own ``roles/`` and ``hooks/``; its state is in ``.provision/`` there.
"""

import sys

from fabric import task
from fabric.executor import Executor
from fabric.main import program as fab_program
from invoke.exceptions import Exit

from provision.commands import cli
from provision.commands.run import INVENTORY, project_root
from provision.local_tasks import compose, image, init, kube, sandbox
from provision.project.plays import Options
from provision.release.deploy import DeployOptions

__all__ = ["backup", "bootstrap", "compose", "deploy", "doctor", "exec_", "image", "init",
           "kube", "logs", "maintenance", "releases", "remove", "rollback", "sandbox",
           "status"]  # fmt: skip

COMMON = {
    "set": "override a setting, NAME=VALUE (repeatable); wins over the inventory",
    "inventory": "inventory file (default: inventory.yaml)",
    "verbose": "also say why each unchanged task needed nothing",
    "strict_host_keys": "refuse a server whose SSH key no known-hosts file holds yet",
    "app": "the app to work on, of the inventory's apps: (default: each app of the host)",
}
CONVERGE = {
    **COMMON,
    "check": "dry run: report what would change, change nothing",
    "diff": "show the diff of every file that changes (or would)",
}
RELEASE = {
    **COMMON,
    "wait": "if another deploy holds the lock, wait up to this many seconds",
    "take_over": "take the lock from a deploy that died without releasing it",
}


def _exit(code):
    if code:
        raise Exit(code=code)


@task(iterable=["set"], help=CONVERGE, auto_shortflags=False)
def bootstrap(c, check=False, diff=False, set=None, app="", inventory=INVENTORY, verbose=False,
              strict_host_keys=False):  # fmt: skip
    """First-time server setup: packages, the app's user and directories, SSH hardening."""
    options = Options(check=check, diff=diff, strict_host_keys=strict_host_keys)
    root = project_root(inventory)
    _exit(cli.bootstrap(c, root, options, inventory=inventory, app=app, sets=set, verbose=verbose))


DEPLOY_HELP = {
    **RELEASE,
    "diff": CONVERGE["diff"],
    "force": "ship a new release even when the live one has the same content",
}


@task(iterable=["set"], help=DEPLOY_HELP, auto_shortflags=False)
def deploy(c, diff=False, force=False, wait=0.0, take_over=False, set=None,
           app="", inventory=INVENTORY, verbose=False, strict_host_keys=False):  # fmt: skip
    """Ship the app: build, upload, check, switch, reload, verify; roll back if bad."""
    options = DeployOptions(diff=diff, force=force, wait=float(wait), take_over=take_over,
                            strict_host_keys=strict_host_keys)  # fmt: skip
    root = project_root(inventory)
    _exit(cli.deploy(c, root, options, inventory=inventory, app=app, sets=set, verbose=verbose))


@task(iterable=["set"], help={**RELEASE, "to": "the release to go back to (default: previous)"},
      auto_shortflags=False)  # fmt: skip
def rollback(c, to=None, wait=0.0, take_over=False, set=None, app="", inventory=INVENTORY,
             verbose=False, strict_host_keys=False):  # fmt: skip
    """Make the previous good release (or --to RELEASE) live again, without downtime."""
    options = DeployOptions(to=to, wait=float(wait), take_over=take_over,
                            strict_host_keys=strict_host_keys)  # fmt: skip
    root = project_root(inventory)
    _exit(cli.rollback(c, root, options, inventory=inventory, app=app, sets=set, verbose=verbose))


@task(iterable=["set"], help=COMMON, auto_shortflags=False)
def releases(c, set=None, app="", inventory=INVENTORY, verbose=False, strict_host_keys=False):
    """List the releases on the server, newest first, marking the live and previous ones."""
    options = DeployOptions(strict_host_keys=strict_host_keys)
    root = project_root(inventory)
    _exit(
        cli.list_releases(c, root, options, inventory=inventory, app=app, sets=set, verbose=verbose)
    )


@task(iterable=["set"], auto_shortflags=False, help={
    **COMMON,
    "n": "how many lines, the last ones (default 100)",
    "since": "only lines from this long ago: 30s, 10m, 2h, 1d",
    "grep": "only lines that contain this text",
    "follow": "then print new lines as they come, from every host, until Ctrl-C",
    "process": "which log: web (the app, default), a process or job by name, nginx-access, "
               "nginx-error",
})  # fmt: skip
def logs(c, n=100, since="", grep="", follow=False, process="web", set=None,
         app="", inventory=INVENTORY, verbose=False, strict_host_keys=False):  # fmt: skip
    """The app's log (or nginx's) from the server(s), each line marked with its host."""
    from provision.commands.logs import LogQuery

    query = LogQuery(source=process, lines=int(n), since=since, grep=grep, follow=follow)
    options = Options(strict_host_keys=strict_host_keys)
    root = project_root(inventory)
    _exit(
        cli.logs(
            c,
            root,
            query,
            options,
            inventory=inventory,
            app=app,
            sets=set,
            verbose=verbose,
        )
    )


@task(iterable=["set"], help={**COMMON, "json": "print one JSON object, by host, for scripts"},
      auto_shortflags=False)  # fmt: skip
def status(c, json=False, set=None, app="", inventory=INVENTORY, verbose=False,
           strict_host_keys=False):  # fmt: skip
    """How the app is doing: live release, services, workers, jobs, certificate, disk, deploys."""
    options = Options(strict_host_keys=strict_host_keys)
    root = project_root(inventory)
    _exit(cli.status(c, root, options, as_json=json, inventory=inventory, app=app, sets=set,
                     verbose=verbose))  # fmt: skip


class ArgvExecutor(Executor):
    """Fabric runs what follows `--` on the raw -H host as a task of its own; for `fab
    exec`, it is the command to run in the app's release instead, on inventory hosts."""

    def expand_calls(self, calls, apply_hosts=True):
        if any(call.task.name == "exec" for call in calls) and self.core.remainder:
            from provision.commands.oneoff import command_line

            # Invoke joined the words after `--` with spaces; the command line as typed
            # has them one by one.
            words = sys.argv[sys.argv.index("--") + 1 :] if "--" in sys.argv else []
            REMAINDER.append(command_line(words) if words else self.core.remainder)
            self.core.remainder = ""
        return super().expand_calls(calls, apply_hosts)


REMAINDER: list[str] = []
fab_program.executor_class = ArgvExecutor


@task(name="exec", iterable=["set"], auto_shortflags=False, help={
    **COMMON,
    "one": "on the first host only (of a group)",
    "tty": "a terminal session, for a person: python, bash (one host)",
})  # fmt: skip
def exec_(c, one=False, tty=False, set=None, app="", inventory=INVENTORY, verbose=False,
          strict_host_keys=False):  # fmt: skip
    """Run `-- COMMAND` in the live release as the app's user, with its virtualenv and .env."""
    command = REMAINDER[0] if REMAINDER else ""
    options = Options(strict_host_keys=strict_host_keys)
    root = project_root(inventory)
    _exit(cli.oneoff(c, root, command, options, one=one, tty=tty, inventory=inventory,
                     sets=set, verbose=verbose))  # fmt: skip


@task(iterable=["set"], help=COMMON, auto_shortflags=False)
def doctor(c, set=None, app="", inventory=INVENTORY, verbose=False, strict_host_keys=False):
    """Common production mistakes in the app's source (and on the servers, with -H)."""
    options = Options(strict_host_keys=strict_host_keys)
    root = project_root(inventory)
    _exit(cli.doctor(c, root, options, inventory=inventory, app=app, sets=set, verbose=verbose))


@task(iterable=["set"], auto_shortflags=False, help={
    **COMMON,
    "app": "the app to take off the server (required); the inventory must no longer give it",
    "delete_data": "its data too: shared/ (uploads, .env), its database and its backups",
})  # fmt: skip
def remove(c, app="", delete_data=False, set=None, inventory=INVENTORY, verbose=False,
           strict_host_keys=False):  # fmt: skip
    """Take an app off the server(s): its services, site, timers and user; its data is
    kept unless --delete-data."""
    options = Options(strict_host_keys=strict_host_keys)
    root = project_root(inventory)
    _exit(cli.remove(c, root, app, delete_data, options, inventory=inventory, sets=set,
                     verbose=verbose))  # fmt: skip


@task(iterable=["set"], positional=["state"], auto_shortflags=False, help={
    **COMMON,
    "state": "on: nginx answers 503 with the maintenance page; off: the app again",
})  # fmt: skip
def maintenance(c, state=None, set=None, app="", inventory=INVENTORY, verbose=False,
                strict_host_keys=False):  # fmt: skip
    """Maintenance mode on or off for the app: 503, a page and Retry-After from nginx,
    while provision's health checks still reach the app; outlives deploys."""
    if state not in ("on", "off"):
        raise Exit(f"error: maintenance: say on or off (got {state!r})", code=2)
    options = Options(strict_host_keys=strict_host_keys)
    root = project_root(inventory)
    _exit(cli.action(c, root, f"maintenance-{state}", options, inventory=inventory, app=app,
                     sets=set, verbose=verbose))  # fmt: skip


@task(iterable=["set"], help=COMMON, auto_shortflags=False)
def backup(c, set=None, app="", inventory=INVENTORY, verbose=False, strict_host_keys=False):
    """Back up the app's PostgreSQL database now (as the nightly timer does)."""
    options = Options(strict_host_keys=strict_host_keys)
    root = project_root(inventory)
    _exit(
        cli.action(
            c,
            root,
            "backup",
            options,
            inventory=inventory,
            app=app,
            sets=set,
            verbose=verbose,
        )
    )
