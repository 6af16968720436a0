"""Fabric tasks: thin wrappers that parse options and call the provision engine.

fab bootstrap -H web1              first-time server setup
fab deploy -H web1                 ship the app, zero downtime, health-gated
fab deploy -H web                  a group: app servers in health-gated batches, then balancers
fab rollback -H web1               back to the previous good release
fab releases -H web1               list releases, marking the live one
fab status -H web1 [--json]       the live release, services, jobs, certificate, disk, deploys
fab exec -H web1 -- alembic current  a command in the live release, as the app (--tty: python)
fab doctor [-H web1]               common production mistakes: the app's source, then the servers
fab backup -H web1                 back up the app's PostgreSQL database now
fab logs -H web1 [-n 50] [--grep X]  the app's log (--process nginx-access: nginx's)
fab sandbox [--deploy]             a local Debian test server (root); --deploy: the example app too
fab sandbox --hosts 3              a fleet of three, on a private network of their own
"""

import os
import sys
from pathlib import Path
from types import SimpleNamespace

from fabric import task
from fabric.executor import Executor
from fabric.main import program as fab_program
from invoke.exceptions import Exit

from provision.commands import cli
from provision.commands.logs import LogQuery
from provision.commands.oneoff import command_line
from provision.project.inventory import KNOWN_HOSTS
from provision.project.plays import Options
from provision.release.deploy import DeployOptions
from provision.sandbox import fleet
from provision.sandbox import machines as sb

ROOT = Path(__file__).resolve().parent
SANDBOX = Path(os.environ.get("PROVISION_SANDBOX_DIR", ROOT / ".sandbox"))

COMMON = {
    "set": "override a setting, NAME=VALUE (repeatable); wins over the inventory",
    "inventory": "inventory file (default: inventory.yaml)",
    "verbose": "also say why each unchanged task needed nothing",
    "strict_host_keys": "refuse a server whose SSH key no known-hosts file holds yet",
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
def bootstrap(c, check=False, diff=False, set=None, inventory="inventory.yaml", verbose=False,
              strict_host_keys=False):  # fmt: skip
    """First-time server setup: packages, the app's user and directories, SSH hardening."""
    options = Options(check=check, diff=diff, strict_host_keys=strict_host_keys)
    _exit(cli.bootstrap(c, ROOT, options, inventory=inventory, sets=set, verbose=verbose))


DEPLOY_HELP = {
    **RELEASE,
    "diff": CONVERGE["diff"],
    "force": "ship a new release even when the live one has the same content",
}


@task(iterable=["set"], help=DEPLOY_HELP, auto_shortflags=False)
def deploy(c, diff=False, force=False, wait=0.0, take_over=False, set=None,
           inventory="inventory.yaml", verbose=False, strict_host_keys=False):  # fmt: skip
    """Ship the app: build, upload, check, switch, reload, verify; roll back if bad."""
    options = DeployOptions(diff=diff, force=force, wait=float(wait), take_over=take_over,
                            strict_host_keys=strict_host_keys)  # fmt: skip
    _exit(cli.deploy(c, ROOT, options, inventory=inventory, sets=set, verbose=verbose))


@task(iterable=["set"], help={**RELEASE, "to": "the release to go back to (default: previous)"},
      auto_shortflags=False)  # fmt: skip
def rollback(c, to=None, wait=0.0, take_over=False, set=None, inventory="inventory.yaml",
             verbose=False, strict_host_keys=False):  # fmt: skip
    """Make the previous good release (or --to RELEASE) live again, without downtime."""
    options = DeployOptions(to=to, wait=float(wait), take_over=take_over,
                            strict_host_keys=strict_host_keys)  # fmt: skip
    _exit(cli.rollback(c, ROOT, options, inventory=inventory, sets=set, verbose=verbose))


@task(iterable=["set"], help=COMMON, auto_shortflags=False)
def releases(c, set=None, inventory="inventory.yaml", verbose=False, strict_host_keys=False):
    """List the releases on the server, newest first, marking the live and previous ones."""
    options = DeployOptions(strict_host_keys=strict_host_keys)
    _exit(cli.list_releases(c, ROOT, options, inventory=inventory, sets=set, verbose=verbose))


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
         inventory="inventory.yaml", verbose=False, strict_host_keys=False):  # fmt: skip
    """The app's log (or nginx's) from the server(s), each line marked with its host."""
    query = LogQuery(source=process, lines=int(n), since=since, grep=grep, follow=follow)
    options = Options(strict_host_keys=strict_host_keys)
    _exit(cli.logs(c, ROOT, query, options, inventory=inventory, sets=set, verbose=verbose))


@task(iterable=["set"], help={**COMMON, "json": "print one JSON object, by host, for scripts"},
      auto_shortflags=False)  # fmt: skip
def status(c, json=False, set=None, inventory="inventory.yaml", verbose=False,
           strict_host_keys=False):  # fmt: skip
    """How the app is doing: live release, services, workers, jobs, certificate, disk, deploys."""
    options = Options(strict_host_keys=strict_host_keys)
    _exit(cli.status(c, ROOT, options, as_json=json, inventory=inventory, sets=set,
                     verbose=verbose))  # fmt: skip


class _Executor(Executor):
    """Fabric runs what follows `--` on the raw -H host as a task of its own; for `fab
    exec`, it is the command to run in the app's release instead, on inventory hosts."""

    def expand_calls(self, calls, apply_hosts=True):
        if any(call.task.name == "exec" for call in calls) and self.core.remainder:
            # Invoke joined the words after `--` with spaces; the command line as typed
            # has them one by one.
            words = sys.argv[sys.argv.index("--") + 1 :] if "--" in sys.argv else []
            REMAINDER.append(command_line(words) if words else self.core.remainder)
            self.core.remainder = ""
        return super().expand_calls(calls, apply_hosts)


REMAINDER: list[str] = []
fab_program.executor_class = _Executor


@task(name="exec", iterable=["set"], auto_shortflags=False, help={
    **COMMON,
    "one": "on the first host only (of a group)",
    "tty": "a terminal session, for a person: python, bash (one host)",
})  # fmt: skip
def exec_(c, one=False, tty=False, set=None, inventory="inventory.yaml", verbose=False,
          strict_host_keys=False):  # fmt: skip
    """Run `-- COMMAND` in the live release as the app's user, with its virtualenv and .env."""
    command = REMAINDER[0] if REMAINDER else ""
    options = Options(strict_host_keys=strict_host_keys)
    _exit(cli.oneoff(c, ROOT, command, options, one=one, tty=tty, inventory=inventory,
                     sets=set, verbose=verbose))  # fmt: skip


@task(iterable=["set"], help=COMMON, auto_shortflags=False)
def doctor(c, set=None, inventory="inventory.yaml", verbose=False, strict_host_keys=False):
    """Common production mistakes in the app's source (and on the servers, with -H)."""
    options = Options(strict_host_keys=strict_host_keys)
    _exit(cli.doctor(c, ROOT, options, inventory=inventory, sets=set, verbose=verbose))


@task(iterable=["set"], help=COMMON, auto_shortflags=False)
def backup(c, set=None, inventory="inventory.yaml", verbose=False, strict_host_keys=False):
    """Back up the app's PostgreSQL database now (as the nightly timer does)."""
    options = Options(strict_host_keys=strict_host_keys)
    _exit(cli.action(c, ROOT, "backup", options, inventory=inventory, sets=set, verbose=verbose))


@task(help={"stop": "halt the sandbox host(s) and remove their files",
            "port": "SSH port on 127.0.0.1",
            "deploy": "then bootstrap it and deploy the example app",
            "hosts": "boot this many hosts on a private network instead (a fleet)"})  # fmt: skip
def sandbox(c, stop=False, port=2222, deploy=False, hosts=0):
    """Boot (or --stop) a local Debian 12 server to rehearse on: `fab bootstrap -H sandbox`."""
    try:
        if stop:
            print(fleet.stop_all(SANDBOX))
            return
        print(fleet.start_fleet(SANDBOX, int(hosts)) if hosts
              else sb.start_sandbox(SANDBOX, ROOT / KNOWN_HOSTS, port))  # fmt: skip
    except sb.SandboxError as e:
        raise Exit(f"error: {e}", code=2) from e
    if deploy and not hosts:
        on_sandbox = SimpleNamespace(original_host="sandbox", config=c.config)
        _exit(cli.bootstrap(on_sandbox, ROOT, Options()))
        _exit(cli.deploy(on_sandbox, ROOT, DeployOptions()))
        print("\nthe example app is live: open http://127.0.0.1/ (its health: /health)")
