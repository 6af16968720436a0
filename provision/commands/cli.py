"""What the Fabric tasks call: turn options into engine calls and an exit status.

A command's own modules are imported when it runs (doctor's, status', logs'...): every
run of `fab` imports this module, and a deploy or rollback starts sooner without them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provision.commands.actions import run_action
from provision.commands.run import EACH, SERVER, Hosts, each_host, run
from provision.core.output import Output, Tally
from provision.core.transport import Session, Target
from provision.project.apply import converge_all, for_each_host, guarded
from provision.project.inventory import InventoryError
from provision.project.plays import Options, Play, Project, parse_overrides
from provision.project.roles import RoleError, resolve_vars
from provision.project.schema import SchemaError
from provision.release import deploy as releases
from provision.release.artifact import ArtifactError
from provision.release.rollout import Rollout

if TYPE_CHECKING:
    from provision.commands.doctor import Finding
    from provision.commands.logs import LogQuery


def bootstrap(c: Any, root: Path, options: Options, **kw: Any) -> int:
    config = getattr(c, "config", None)

    def hosts(play: Play, targets: list[Target], out: Output) -> dict[str, Tally]:
        return converge_all(play, targets, options, out, config)

    return run(c, root, "bootstrap", "bootstrap", options, hosts, scope=SERVER, **kw)


def _rollout(c: Any, root: Path, action: str, options: releases.DeployOptions, **kw: Any) -> int:
    """A deploy or rollback, between the project's own before and after hooks."""
    from provision.commands.local_hooks import HookError, LocalHooks

    config = getattr(c, "config", None)
    options.project_root = root
    try:
        hooks = LocalHooks.find(root)
    except HookError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    def hosts(play: Play, targets: list[Target], out: Output) -> dict[str, Tally]:
        facts = {
            "PROVISION_COMMAND": action,
            "PROVISION_RELEASE": options.to or "",
            "PROVISION_HOSTS": ",".join(t.name for t in targets),
            "PROVISION_INVENTORY": str(root / kw.get("inventory", "inventory.yaml")),
        }

        def work() -> tuple[dict[str, Tally], list[str], list[str]]:
            rollout = Rollout(action, [Session(t, config) for t in targets], play, options, out)
            return rollout.run(), *rollout.releases()

        return hooks.around(action, facts, out, work)

    # a rollback reads the releases by the deploy play's roles, without the app's source
    return run(c, root, action, "deploy", options, hosts, preflight=action == "deploy",
               scope=EACH, **kw)  # fmt: skip


def deploy(c: Any, root: Path, options: releases.DeployOptions, **kw: Any) -> int:
    return _rollout(c, root, "deploy", options, **kw)


def rollback(c: Any, root: Path, options: releases.DeployOptions, **kw: Any) -> int:
    return _rollout(c, root, "rollback", options, **kw)


def _each_release_host(work: Callable, options: releases.DeployOptions, config: Any) -> Hosts:
    def one(play: Play, target: Target, out: Output) -> Tally:
        return guarded(target, out, config, lambda s, tally: work(s, play, options, out, tally))

    return each_host(one)


def remove(c: Any, root: Path, app: str, data: bool, options: Options, **kw: Any) -> int:
    """Take ``app`` off the ``-H`` hosts (its data too with ``data``), the others untouched."""
    from provision.commands.remove import check_gone, remove_work

    config = getattr(c, "config", None)
    if not app:
        print("error: remove: name the app with --app NAME", file=sys.stderr)
        return 2
    loaded: list[Project] = []

    def gone(project: Project, targets: list[Target]) -> None:
        check_gone(project, targets, app)
        loaded.append(project)

    def one(play: Play, target: Target, out: Output) -> Tally:
        work = remove_work(loaded[0], play, app, data, out, options.overrides)
        return guarded(target, out, config, work)

    return run(c, root, f"remove {app}", "deploy", options, each_host(one), preflight=False,
               scope=SERVER, before=gone, **kw)  # fmt: skip


def logs(c: Any, root: Path, query: LogQuery, options: Options, **kw: Any) -> int:
    """Print the log ``query`` asks for from every target, each line marked by its host."""
    from provision.commands.logs import follow_each, show_logs

    config = getattr(c, "config", None)
    if fault := query.fault():
        print(f"error: {fault}", file=sys.stderr)
        return 2

    def hosts(play: Play, targets: list[Target], out: Output) -> dict[str, Tally]:
        lacking: list[str] = []
        several = lacking if len(targets) > 1 else None
        work = show_logs(play, query, out, options.overrides, several)
        each = follow_each if query.follow and several is not None else for_each_host
        tallies = each(targets, lambda t: guarded(t, out, config, work), out, False)
        if len(lacking) == len(targets):
            out.error("logs", f"no host has a log named {query.source!r}")
            return {"logs": Tally(failed=1)}
        return tallies

    return run(c, root, "logs", "deploy", options, hosts, preflight=False, **kw)


def list_releases(c: Any, root: Path, options: releases.DeployOptions, **kw: Any) -> int:
    hosts = _each_release_host(releases.list_releases, options, getattr(c, "config", None))
    return run(c, root, "releases", "deploy", options, hosts, preflight=False, **kw)


def action(c: Any, root: Path, name: str, options: Options, **kw: Any) -> int:
    """Run a role's action (``fab backup``) on every target."""
    config = getattr(c, "config", None)

    def one(play: Play, target: Target, out: Output) -> Tally:
        return guarded(target, out, config, run_action(name, play, options.overrides, out))

    # an action needs a server set up (the deploy play's `after`) and no app source
    title = name.replace("-", " ")  # maintenance-on: "maintenance on"
    return run(c, root, title, "deploy", options, each_host(one), preflight=False, **kw)


def status(c: Any, root: Path, options: Options, as_json: bool = False, **kw: Any) -> int:
    """How the app is doing on every target; ``as_json``: one JSON object by host."""
    from provision.commands.status import show_status

    config = getattr(c, "config", None)
    report: dict[str, Any] | None = {} if as_json else None

    def hosts(play: Play, targets: list[Target], out: Output) -> dict[str, Tally]:
        work = show_status(play, out, options.overrides, report)
        return for_each_host(targets, lambda t: guarded(t, out, config, work), out, False)

    stream = sys.stderr if as_json else None
    code = run(c, root, "status", "deploy", options, hosts, preflight=False, stream=stream,
               scope=EACH, **kw)  # fmt: skip
    if report is not None and code != 2:
        print(json.dumps(report, indent=2, sort_keys=True))
    return code


def oneoff(c: Any, root: Path, command: str, options: Options, one: bool = False,
           tty: bool = False, **kw: Any) -> int:  # fmt: skip
    """`fab exec`: ``command`` in the live release on each target in turn (``one``: the
    first); exits with the command's status."""
    from provision.commands.oneoff import oneoff_fault, run_oneoff

    config = getattr(c, "config", None)
    status = 0
    if not command.strip():
        print(f"error: {oneoff_fault(command, 1, one, tty)}", file=sys.stderr)
        return 2

    def hosts(play: Play, targets: list[Target], out: Output) -> dict[str, Tally]:
        nonlocal status
        if fault := oneoff_fault(command, len(targets), one, tty):
            out.error("exec", fault)
            status = 2
            return {}
        picked = targets[:1] if one else targets
        status = run_oneoff(play, picked, command, out, config, options.overrides, tty)
        return {}

    code = run(c, root, "exec", "deploy", options, hosts, preflight=False, stream=sys.stderr,
               **kw)  # fmt: skip
    return code or status


def doctor(c: Any, root: Path, options: Options, **kw: Any) -> int:
    """The app's source, read for common production mistakes; with -H, its servers too.
    1 when an error was found, 0 with warnings only."""
    from provision.commands.doctor import Finding, server_work, show, source_checks, source_findings

    config = getattr(c, "config", None)
    found: list[Finding] = []

    seen: set[tuple[str, str, str]] = set()

    def read_source(play: Play, settings: dict[str, Any], out: Output) -> None:
        try:
            roles = play.roles_of(settings)
        except SchemaError as e:  # a kind of host the plays lack: said, and nothing read
            found.append(
                Finding(e.key, "error", e.message, "set it to a kind roles/plays.yaml names")
            )
            out.line(f"-- {found[-1]}")
            return
        for check in source_checks(roles, settings, root):
            if (check.source, check.ref, check.says) in seen:
                continue  # read once for all the hosts that run the same app
            seen.add((check.source, check.ref, check.says))
            out.line(check.heading())
            findings = source_findings(check, root)
            show(out, f"{check.source}/", findings)
            found.extend(findings)

    def hosts(play: Play, targets: list[Target], out: Output) -> dict[str, Tally]:
        for t in targets:
            read_source(play, resolve_vars(play.every_role, t.vars, options.overrides), out)
        out.line("-- the servers")
        work = server_work(play, out, options.overrides, found)
        tallies = for_each_host(targets, lambda t: guarded(t, out, config, work), out, False)
        _summary(found, out)
        errors = any(f.level == "error" for f in found)
        return {**tallies, "the app's source": Tally(failed=errors)}

    if getattr(c, "original_host", None):
        return run(c, root, "doctor", "deploy", options, hosts, preflight=False, **kw)
    try:  # no host: each app's source alone, with the inventory's settings for every host
        project = Project.load(root, kw.get("inventory", "inventory.yaml"))
        options.overrides = parse_overrides(kw.get("sets") or [])
        play = project.play("deploy", options.overrides)
        out = Output(verbose=kw.get("verbose", False))
        for name, given in project.apps_given().items():
            if not kw.get("app") or name == kw["app"]:
                read_source(play, resolve_vars(play.every_role, given, options.overrides), out)
    except (InventoryError, RoleError, ArtifactError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    _summary(found, out)
    return 1 if any(f.level == "error" for f in found) else 0


def _summary(found: list[Finding], out: Output) -> None:
    errors = sum(f.level == "error" for f in found)
    warnings = len(found) - errors
    out.line(f"doctor: {errors} error{'s' * (errors != 1)}, "
             f"{warnings} warning{'s' * (warnings != 1)}")  # fmt: skip
