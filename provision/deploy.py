"""Releases: deploy, rollback, and the list of releases, on one host.

A deploy reads as its phases: build (here), lock, converge (the roles), upload, install,
venv, check, switch, reload, verify, clean, unlock. The live release keeps serving until
``switch``, and a new release goes live only after it answered its health URL on a
spare port; one that fails after the switch is rolled back and marked bad.
"""

from __future__ import annotations

import shlex
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import artifact
from .command import Command
from .engine import Host, Options, converge
from .lock import DeployLock
from .output import Output, Tally
from .release import BAD, DONE, ReleasePlan, Releases, ReleaseState
from .roles import Role, RoleContext, RoleError
from .runner import PhaseFailed, TaskFailed, execute, gather
from .transport import Session

POLL = (Path(__file__).parent / "wait_healthy.py").read_text()


@dataclass
class DeployOptions(Options):
    wait: float = 0
    take_over: bool = False
    to: str | None = None  # rollback target
    force: bool = False  # ship a new release even if the live one has the same content
    project_root: Path = field(default_factory=Path.cwd)


def release_plan(roles: list[Role], host: Host) -> ReleasePlan:
    """The ``ReleasePlan`` of the one role that defines ``release(role)``."""
    plans = [
        r.module.release(RoleContext(r, host.vars, host.facts))
        for r in roles
        if hasattr(r.module, "release")
    ]
    if len(plans) != 1:
        raise RoleError(f"exactly one role must define release(); found {len(plans)}")
    return plans[0]


class Release:
    """The phases of one release on one connected host."""

    def __init__(self, host: Host, plan: ReleasePlan, out: Output, tally: Tally) -> None:
        self.session: Session = host.session
        self.name = host.session.target.name
        self.plan = plan
        self.out = out
        self.tally = tally
        self.log_cursor = ""  # where the app's journal stood at the last reload

    # -- helpers -------------------------------------------------------------------
    def path(self, *parts: str) -> str:
        return "/".join([self.plan.root, *parts])

    def as_app(self, *argv: str) -> Command:
        user = self.plan.user
        return Command.of(
            "setpriv", "--reuid", user, "--regid", user, "--init-groups", "--reset-env", *argv
        )

    def state(self) -> Releases:
        return gather(self.session, [ReleaseState(self.plan.root)])[ReleaseState(self.plan.root)]

    def run(self, commands: list[Command]) -> str:
        return execute(self.session, commands)

    def phase(self, name: str, step: Callable[[], str | None], changes: bool = True) -> None:
        """Run one phase and print its line; a failure names the phase."""
        start = time.monotonic()
        try:
            detail = step()
        except TaskFailed as e:
            self.out.task(self.name, "failed", "release", name)
            raise PhaseFailed(f"{name}: {e}") from e
        took = f"{time.monotonic() - start:.1f} s"
        status = "changed" if changes else "ok"
        self.tally.changed += changes
        self.tally.ok += not changes
        detail = f"{detail}, {took}" if detail else took
        self.out.task(self.name, status, "release", name, detail, always=True)

    def poll(self, port: int, release_id: str, pid_var: str = "") -> str:
        """Shell text: wait for the release's health answer (giving up if ``pid_var`` dies)."""
        args = [self.plan.url(port), release_id, f"{self.plan.health_timeout:g}"]
        quoted = " ".join(shlex.quote(a) for a in args)
        return f"python3 -I -S -c {shlex.quote(POLL)} {quoted} {pid_var}".strip()

    def wait_healthy(self, port: int, release_id: str) -> Command:
        label = f"wait until {self.plan.url(port)} answers with {release_id}"
        return Command.shell(self.poll(port, release_id), label=label)

    def reload(self) -> str:
        """``systemctl reload`` the app (``start`` when it is not running yet)."""
        s = shlex.quote(self.plan.service)
        done = self.run([Command.shell(
            f"journalctl -u {s} -n 0 --show-cursor --no-pager | sed -n 's/^-- cursor: //p'; "
            f"if systemctl is-active --quiet {s}; then systemctl reload {s}; echo reload; "
            f"else systemctl start {s}; echo start; fi"
        )])  # fmt: skip
        *cursor, action = done.strip().splitlines()
        self.log_cursor = cursor[0] if cursor else ""
        return f"systemctl {action} {self.plan.service}"

    def switch(self, release_id: str, live: str | None) -> str:
        """Point ``current`` at the release: a new symlink renamed over the old one."""
        new = self.path("current.provision-new")
        user = self.plan.user
        self.run([
            Command.of("ln", "-sfn", f"releases/{release_id}", new),
            Command.of("chown", "-h", f"{user}:{user}", new),
            Command.of("mv", "-T", "-f", new, self.path("current")),
        ])  # fmt: skip
        return f"{live or 'nothing'} -> {release_id}"

    def log_tail(self) -> str:
        """The app's log since the reload, without access-log lines (they would bury the
        error): see ``log_excerpt``."""
        s = shlex.quote(self.plan.service)
        since = f"--after-cursor={shlex.quote(self.log_cursor)}" if self.log_cursor else "-n 300"
        access = shlex.quote('"[A-Z]+ [^"]*" [0-9]{3} ')
        result = self.session.run_as_root(
            f"journalctl -u {s} {since} --no-pager -o cat | grep -vE {access} | tail -n 2000"
        )
        return log_excerpt(result.stdout.splitlines())

    # -- phases --------------------------------------------------------------------
    def upload(
        self,
        rid: str,
        source: Path,
        generated: dict[str, str],
        wheels: artifact.Wheels,
        have: frozenset[str],
    ) -> str:
        """``have``: the wheels the server has already; only the others are sent."""
        new = [w for w in wheels.files if w.name not in have]
        data = artifact.tarball(source, generated, new)
        incoming = self.path("incoming", rid)
        user = self.plan.user
        self.run(
            [
                Command.of("rm", "-rf", incoming),
                Command.of("install", "-d", "-o", user, "-g", user, incoming),
                Command.of(*self.as_app("tar", "-xzf", "-", "-C", incoming).parts, stdin=data),
            ]
        )
        return f"{len(data) / 1e6:.1f} MB, {len(new)} new wheel(s) of {len(wheels.files)}"

    def install(self, rid: str) -> str:
        incoming, release = self.path("incoming", rid), self.path("releases", rid)
        q = shlex.quote
        self.run(
            [
                Command.shell(
                    f"if [ -d {q(incoming)}/wheels ]; then find {q(incoming)}/wheels -name '*.whl' "
                    f"-exec mv -f -t {q(self.path('wheels'))} {{}} +; fi"
                ),
                Command.of("rm", "-rf", release),
                Command.of("mv", "-T", f"{incoming}/release", release),
                Command.of("rm", "-rf", incoming),
            ]
        )
        return release

    def venv(self, rid: str, digest: str, built: frozenset[str]) -> str:
        """Reuse the venv of these exact requirements (in ``built``), or build it aside and
        rename it in.

        Building under a name of this release's own means a build orphaned by a dropped
        connection can never write into the venv a later deploy builds or uses.
        """
        venv, release = self.path("venvs", digest), self.path("releases", rid)
        link = [self.as_app("ln", "-sfn", f"../../venvs/{digest}", f"{release}/venv")]
        if digest in built:
            self.run(link)
            return f"reused venvs/{digest}"
        aside = self.path("venvs", f".{digest}.{rid}")
        pip = [f"{aside}/bin/pip", "install", "--quiet", "--no-index", "--no-deps",
               "--disable-pip-version-check", "--find-links", self.path("wheels"),
               "-r", f"{release}/.provision/requirements.txt"]  # fmt: skip
        self.run(
            [
                Command.of("rm", "-rf", aside),
                self.as_app("python3", "-m", "venv", aside),
                self.as_app(*pip),
                self.as_app("touch", f"{aside}/{DONE}"),
                Command.of("rm", "-rf", venv),
                Command.of("mv", "-T", aside, venv),
                *link,
            ]
        )
        return f"built venvs/{digest}"

    def link_shared(self, rid: str) -> str:
        release = self.path("releases", rid)
        commands = [
            self.as_app("ln", "-sfn", f"../../{target}", f"{release}/{name}")
            for name, target in self.plan.shared_links.items()
        ]
        self.run([*commands, self.as_app("touch", f"{release}/{DONE}")])
        return ", ".join(f"{name} -> {target}" for name, target in self.plan.shared_links.items())

    def check(self, rid: str) -> str:
        """Start the release on the spare port and ask its health URL; the live one is untouched."""
        release = self.path("releases", rid)
        argv = self.plan.check_command(release, self.plan.check_port)
        env = f"PROVISION_RELEASE_DIR={release}"
        start = " ".join(shlex.quote(str(p)) for p in self.as_app("env", env, *argv).parts)
        pidfile = f"/run/lock/provision-{self.plan.service}.check.pid"
        log = f"/run/lock/provision-{self.plan.service}.check.log"
        poll = self.poll(self.plan.check_port, rid, '"$pid"')
        # The check runs in a session of its own, so that it and its workers end at once;
        # one left by an interrupted deploy is ended first.
        kill_group = "/bin/kill -KILL -- -"
        script = (
            f'old=$(cat {pidfile} 2>/dev/null); [ -n "$old" ] && {kill_group}"$old" 2>/dev/null; '
            f"cd {shlex.quote(release)}; "
            f"setsid {start} > {log} 2>&1 & pid=$!; echo $pid > {pidfile}; "
            f"if {poll} >/dev/null; then rc=0; else rc=1; fi; "
            f'{kill_group}"$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -f {pidfile}; '
            f'if [ $rc -ne 0 ]; then echo "--- its output:" >&2; tail -n 25 {log} >&2; fi; '
            f"rm -f {log}; exit $rc"
        )
        label = f"start {rid} on 127.0.0.1:{self.plan.check_port} and wait for its health"
        self.run([Command.shell(script, label=label)])
        return f"answered on 127.0.0.1:{self.plan.check_port}{self.plan.health_path}"

    def mark_bad(self, rid: str) -> None:
        self.run([Command.of("touch", self.path("releases", rid, BAD))])

    def verify(self, rid: str) -> str:
        self.run([self.wait_healthy(self.plan.port, rid)])
        return f"{rid} answers on 127.0.0.1:{self.plan.port}{self.plan.health_path}"

    def clean(self, rid: str) -> str:
        state = self.state()
        old = state.removable(self.plan.keep)
        kept = [r for r in state.releases if r.id not in old]
        used = {r.venv for r in kept}
        venvs = [v for v in state.venvs if v not in used]
        q = shlex.quote
        incomplete = (
            f'for d in {q(self.path("releases"))}/*/; do [ -f "$d{DONE}" ] || '
            f'[ "$d" = {q(self.path("releases", rid))}/ ] || rm -rf "$d"; done'
        )
        self.run(
            [
                *(Command.of("rm", "-rf", self.path("releases", r)) for r in old),
                *(Command.of("rm", "-rf", self.path("venvs", v)) for v in venvs),
                Command.shell(incomplete),
                Command.shell(f"rm -rf {q(self.path('venvs'))}/.[!.]*"),
                Command.shell(
                    f"find {q(self.path('incoming'))} -mindepth 1 -maxdepth 1 -exec rm -rf {{}} +"
                ),
            ]
        )
        return f"removed {len(old)} old release(s), {len(venvs)} unused venv(s)"


def log_excerpt(lines: list[str], tail: int = 25) -> str:
    """The first traceback in ``lines`` (the cause), then the last ``tail`` lines.

    A release that fails under the live service often fails again and again while the
    health gate waits (systemd restarts it), and its last lines can be a restart's noise.
    """
    if not lines:
        return "(the journal has nothing for this service)"
    first = next((i for i, line in enumerate(lines) if line.startswith("Traceback (")), None)
    if first is None or first >= len(lines) - tail:
        return "\n".join(lines[-tail:])
    end = first + 1
    while end < len(lines) and lines[end].startswith((" ", "\t")):
        end += 1
    if end >= len(lines) - tail:  # the cause runs into the last lines: show it all once
        return "\n".join(lines[first:])
    cause = lines[first : end + 1]
    if len(cause) > 40:  # a deep traceback: keep where it starts and how it ends
        cause = [*cause[:10], "  ...", *cause[-29:]]
    return "\n".join([*cause, "...", *lines[-tail:]])


def _generated(plan: ReleasePlan, wheels: artifact.Wheels) -> dict[str, str]:
    """The files provision adds to a release, but for its id (they make its content)."""
    return {**plan.files, ".provision/requirements.txt": "".join(f"{p}\n" for p in wheels.pins)}


def deploy_one(
    session: Session, roles: list[Role], options: DeployOptions, out: Output, tally: Tally
) -> None:
    """Ship the app to one host and make it live, or leave the live release as it was."""
    host = Host.connect(session, roles, options.overrides)
    plan = release_plan(roles, host)
    v = host.vars
    name = session.target.name
    with tempfile.TemporaryDirectory() as work:
        start = time.monotonic()
        source = artifact.checkout(v["app_source"], v["app_ref"], options.project_root, Path(work))
        requirements = source.path / "requirements.txt"
        wheels = artifact.resolve_wheels(requirements, plan.packages, host.facts)
        took = time.monotonic() - start
        commit = f"git {source.commit}, " if source.commit else ""
        detail = f"{commit}{len(wheels.pins)} pinned packages, {took:.1f} s"
        out.task(name, "ok", "release", "build", detail, always=True)
        with DeployLock(session, plan.service, "deploy", options.wait, options.take_over) as lock:
            _report_take_over(lock, out, name)
            converge(host, roles, options, out, tally)
            if tally.failed:
                return
            r = Release(host, plan, out, tally)
            state = r.state()
            live = state.current
            generated = _generated(plan, wheels)
            content = artifact.content_digest(source.path, generated)
            if content == state.content and not options.force:
                tally.ok += 1
                out.task(name, "ok", "release", "unchanged", f"{live} is live with this very "
                         "content (--force ships it again)", always=True)  # fmt: skip
                return
            rid = artifact.release_id(source.commit)
            while rid in state.ids():  # ids have one-second resolution
                time.sleep(0.2)
                rid = artifact.release_id(source.commit)
            files = {**generated, "REVISION": f"{rid}\n", ".provision/content": f"{content}\n"}
            # Read once, under the lock: nothing else changes wheels or venvs meanwhile.
            r.phase("upload", lambda: r.upload(rid, source.path, files, wheels, state.wheels))
            r.phase("install", lambda: r.install(rid))
            r.phase("venv", lambda: r.venv(rid, wheels.digest(), state.venvs))
            r.phase("link", lambda: r.link_shared(rid))
            try:
                r.phase("check", lambda: r.check(rid), changes=False)
            except PhaseFailed as e:
                r.mark_bad(rid)
                still = f"{live} is still live" if live else "no release was live before"
                raise PhaseFailed(
                    f"{e}\nrelease {rid} never went live and is marked bad; {still}"
                ) from e
            r.phase("switch", lambda: r.switch(rid, live))
            r.phase("reload", r.reload)
            try:
                r.phase("verify", lambda: r.verify(rid), changes=False)
            except PhaseFailed as e:
                _roll_back_bad(r, rid, live, e)
            r.phase("clean", lambda: r.clean(rid))


def _report_take_over(lock: DeployLock, out: Output, name: str) -> None:
    if lock.taken_from:
        out.task(name, "changed", "release", "lock", f"taken over from {lock.taken_from}", True)


def _roll_back_bad(r: Release, rid: str, live: str | None, error: PhaseFailed) -> None:
    logs = r.log_tail()
    r.mark_bad(rid)
    if live is None:
        raise PhaseFailed(
            f"{error}\nrelease {rid} is marked bad; no earlier release to go back to."
            f"\n--- the app's log:\n{logs}"
        )
    r.phase("rollback", lambda: r.switch(live, rid) + ", " + r.reload())
    r.phase("verify", lambda: r.verify(live), changes=False)
    raise PhaseFailed(
        f"{error}\nrolled back to {live}; release {rid} is marked bad.\n--- the app's log:\n{logs}"
    )


def rollback_one(
    session: Session, roles: list[Role], options: DeployOptions, out: Output, tally: Tally
) -> None:
    """Make the previous good release (or ``options.to``) live again."""
    host = Host.connect(session, roles, options.overrides)
    plan = release_plan(roles, host)
    with DeployLock(session, plan.service, "rollback", options.wait, options.take_over) as lock:
        _report_take_over(lock, out, session.target.name)
        r = Release(host, plan, out, tally)
        state = r.state()
        target = options.to or state.previous()
        if target is None:
            live = state.current or "none"
            raise PhaseFailed(
                f"no previous release to roll back to (live: {live}); nothing changed"
            )
        if state.get(target) is None:
            raise PhaseFailed(
                f"no release {target!r} on this host; nothing changed (see: fab releases)"
            )
        if target == state.current:
            raise PhaseFailed(f"{target} is already live; nothing changed")
        live = state.current
        r.phase("switch", lambda: r.switch(target, live))
        r.phase("reload", r.reload)
        r.phase("verify", lambda: r.verify(target), changes=False)


def list_releases(session: Session, roles: list[Role], options: DeployOptions, out: Output) -> None:
    host = Host.connect(session, roles, options.overrides)
    plan = release_plan(roles, host)
    state = Release(host, plan, out, Tally()).state()
    previous = state.previous()
    name = session.target.name
    if not state.releases:
        out.line(f"[{name}] no releases yet")
    for rel in reversed(state.releases):
        flags = {"live": rel.id == state.current, "previous": rel.id == previous, "bad": rel.bad}
        marks = [mark for mark, on in flags.items() if on]
        out.line(f"[{name}] {rel.id:<26} {', '.join(marks):<16} venv {rel.venv}")
