"""Releases: deploy, rollback, and the list of releases, on one host.

A deploy reads as its flow, ``DEPLOY`` below. The live release keeps serving until
``switch``, and a new release goes live only after it answered its health URL on a
spare port; one that fails from the switch on is rolled back and marked bad. The
commands of each phase come from ``phases``; how the app runs comes from the roles'
``ReleasePlan``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from provision.core.command import Command
from provision.core.output import Output, Tally, suggested
from provision.core.runner import PhaseFailed, TaskFailed
from provision.core.transport import Session
from provision.core.undo import ROOT as UNDO
from provision.core.undo import Undo
from provision.project.apply import Host, converge
from provision.project.plays import Play
from provision.release import artifact, golive, phases, supervised, wheels
from provision.release.deploy_lock import DeployLock
from provision.release.flow import Done, Failure, HookPoint, Phase
from provision.release.layout import CONTENT, REQUIREMENTS
from provision.release.log_excerpt import log_excerpt
from provision.release.release import DeployOptions, Release, release_plan
from provision.release.releases import Releases

__all__ = ["DEPLOY", "ROLLBACK", "DeployOptions", "list_releases", "release_plan"]


def build(r: Release) -> str:
    """Check out the source and fetch its wheels for the server, here."""
    plan, root = r.plan, r.options.project_root

    def checkout() -> artifact.Source:
        work = Path(r.stack.enter_context(tempfile.TemporaryDirectory()))
        return artifact.checkout(plan.source, plan.ref, root, work)

    r.source = r.shared.once(("source", plan.source, plan.ref), checkout)
    path, facts = r.source.path, r.host.facts
    deps = r.shared.once(("deps", path), lambda: artifact.dependencies(path, plan.requirements))
    flags = tuple(wheels.target_flags(facts))
    key = ("wheels", deps.text, *plan.packages, *flags, r.uv)
    r.wheels = r.shared.once(key, lambda: wheels.resolve(deps, plan.packages, facts, r.uv))
    if r.uv:
        r.uv_wheel = r.shared.once(("uv", *flags), lambda: wheels.uv_wheel(facts))
    commit = f"git {r.source.commit}, " if r.source.commit else ""
    found = "" if deps.found_in == plan.requirements else f" from {deps.found_in}"
    return f"{commit}{len(r.wheels.pins)} pinned packages{found}"


def lock(r: Release) -> str | None:
    def waiting(holder: str) -> None:
        r.out.task(r.name, "waiting", "release", "lock", f"held by {holder}", always=True)

    o = r.options
    # and, once it holds it, waits for a release job a dead run left to end
    job = supervised.wait_for(r.plan.service, 2 * r.plan.health_timeout + 60)
    held = DeployLock(r.session, r.plan.service, r.action, o.wait, o.take_over, waiting, job)
    r.stack.enter_context(held)
    if held.taken_from:
        return f"taken over from {held.taken_from}"
    if held.waited:
        return "taken once its holder let go"
    return None


def converge_roles(r: Release) -> None:
    r.undo = Undo(f"{UNDO}/{r.plan.service}")
    r.handlers = converge(r.host, r.play, r.options, r.out, r.tally, undo=r.undo)
    if r.tally.failed:
        r.restore()  # no half-configured server
        raise Done


def compare(r: Release) -> None:
    """Decide the new release's id, or end here if the live one has this very content."""
    assert r.source is not None
    state = r.read_state()
    r.live = state.current
    intent = golive.settle(r, state)
    pins = "".join(f"{p}\n" for p in r.wheels.pins)
    generated = {**r.plan.files, REQUIREMENTS: pins}  # what makes its content, but its id
    content = artifact.content_digest(r.source.path, generated)
    if content == state.content and not r.options.force:
        if intent and intent.get("action") == "deploy" and intent.get("release") == r.live:
            finish(r, intent, "after_verify")  # its job kept it: what came after, now
        r.execute([*r.stands(), phases.forget(r.layout)])
        r.tally.ok += 1
        r.out.task(r.name, "ok", "release", "unchanged", f"{r.live} is live with this very "
                   "content (--force ships it again)", always=True)  # fmt: skip
        raise Done
    dirty = content if r.source.dirty else ""
    r.rid = r.shared.once(
        ("release id",), lambda: artifact.release_id(r.source.commit, dirty=dirty)
    )
    while r.rid in state.ids():  # ids have one-second resolution
        time.sleep(0.2)
        r.rid = artifact.release_id(r.source.commit, dirty=dirty)
    r.files = {**generated, "REVISION": f"{r.rid}\n", CONTENT: f"{content}\n"}


def upload(r: Release) -> str:
    assert r.source is not None
    new = [w for w in r.wheels.files if w.name not in r.state.wheels]
    data = artifact.tarball(r.source.path, r.files, new)
    r.execute(phases.upload(r.layout, r.plan.user, r.rid, data))
    said = f"{len(data) / 1e6:.1f} MB, {len(new)} new wheel(s) of {len(r.wheels.files)}"
    if r.uv_wheel is None or r.has_uv:
        return said
    wheel = r.uv_wheel.read_bytes()
    r.execute(phases.tool(wheels.UV_PATH, wheel, wheels.UV_MEMBER))
    return f"{said}; uv {wheels.UV_VERSION} ({len(wheel) / 1e6:.1f} MB, once a server)"


def install(r: Release) -> str:
    r.execute(phases.install(r.layout, r.rid))
    return r.layout.release(r.rid)


def venv(r: Release) -> str:
    digest = r.wheels.digest()
    built = digest in r.state.venvs
    uv = wheels.UV_PATH if r.uv else None
    r.execute(phases.venv(r.layout, r.plan.user, r.rid, digest, built, uv))
    return f"{'reused' if built else 'built'} venvs/{digest}{' with uv' * (r.uv and not built)}"


def link(r: Release) -> str:
    r.execute(phases.link_shared(r.layout, r.plan.user, r.rid, r.plan.shared_links))
    return ", ".join(f"{name} -> {target}" for name, target in r.plan.shared_links.items())


def check(r: Release) -> str:
    p = r.plan
    start = p.check_command(r.layout.release(r.rid), p.check_port)
    health = phases.poll(p.url(p.check_port), r.rid, p.health_timeout, phases.CHECKED,
                         p.smoke_paths)  # fmt: skip
    command = phases.check(r.layout, p.user, r.rid, p.service, start, health, p.log_noise)
    try:
        r.execute([command])
    except TaskFailed as e:
        cut = e.output.index(phases.OUTPUT) if phases.OUTPUT in e.output else len(e.output)
        why = "\n".join(e.output[:cut]).strip() or str(e)
        printed = log_excerpt(e.output[cut + 1 :]) if cut < len(e.output) else ""
        raise TaskFailed(f"{why}\n{phases.OUTPUT}\n{printed}" if printed else why) from e
    smoke = f", and {', '.join(p.smoke_paths)}" if p.smoke_paths else ""
    return f"answered on 127.0.0.1:{p.check_port}{p.health_path}{smoke}"


def switch(r: Release) -> str:
    """Start the release job (see ``golive``): from here on the server decides."""
    return golive.start(r, back_to=r.live)


def clean(r: Release) -> str:
    state = r.read_state()
    old = state.removable(r.plan.keep)
    r.execute([*phases.clean(r.layout, state, r.rid, r.plan.keep), *r.stands()])
    return f"removed {len(old)} old release(s), {len(state.unused_venvs(old))} unused venv(s)"


def finish(r: Release, intent: dict, point: str) -> None:
    """The steps at ``point`` that the interrupted run of ``intent`` never reached."""
    r.rid, r.live = r.live or "", intent.get("from") or None
    r.out.task(r.name, "ok", "release", "interrupted", f"the {intent.get('action')} of "
               f"{r.rid} was cut short after its verify: finishing it", always=True)  # fmt: skip
    r.tally.ok += 1
    r.hook(point, Failure.STOP)
    r.rid, r.live = "", r.rid


def pick(r: Release) -> None:
    """The release a rollback goes to: ``--to``, or the previous good one; or, after a
    rollback cut short, the one it went to."""
    state = r.read_state()
    r.live = state.current
    intent = golive.settle(r, state)
    if intent and intent.get("action") == "rollback" and not r.options.to:
        finish_rollback(r, state, intent)
    target = r.options.to or state.previous()
    if target is None:
        raise PhaseFailed(f"no previous release to roll back to (live: {r.live or 'none'}); "
                          "nothing changed")  # fmt: skip
    if state.get(target) is None:
        raise PhaseFailed(f"no release {target!r} on this host; nothing changed "
                          f"(see: {suggested('releases')})")  # fmt: skip
    if target == state.current:
        raise PhaseFailed(f"{target} is already live; nothing changed")
    r.rid = target


def finish_rollback(r: Release, state: Releases, intent: dict) -> None:
    """A rollback that was cut short is finished, not repeated."""
    to, came = intent.get("release"), intent.get("from")
    r.execute([phases.forget(r.layout)])
    if state.current == to:
        finish(r, intent, "after_rollback")
        raise Done
    if state.current == came:
        raise PhaseFailed(
            f"the rollback from {came} to {to} was cut short, and its release job "
            f"went back to {came}: {to} failed its verify and is marked bad. "
            f"Nothing changed now ({suggested('releases')}; "
            f"{suggested('rollback --to RELEASE')})"
        )


def check_target(r: Release) -> str | None:
    """A release that never served (``--to`` one) answers on the spare port first."""
    target = r.state.get(r.rid)
    if target is None or target.served:
        return None
    # a release that was live is root's: its check writes its workers' preload list
    generated = r.layout.release(r.rid, ".provision")
    r.execute([Command.of("chown", "-R", f"{r.plan.user}:{r.plan.user}", generated)])
    try:
        return check(r)
    finally:
        r.execute(phases.handed_over(generated))


def switch_back(r: Release) -> str:
    return golive.start(r, back_to=r.live, leaving=r.live)


DEPLOY = [
    Phase("build", build, changes=False),
    Phase("lock", lock, quiet=True),
    Phase("converge", converge_roles, quiet=True),
    Phase("compare", compare, quiet=True),
    Phase("upload", upload),
    Phase("install", install),
    Phase("venv", venv),
    Phase("link", link),
    HookPoint("before_check", Failure.NEVER_LIVE),
    Phase("check", check, changes=False, failure=Failure.NEVER_LIVE),
    HookPoint("before_switch", Failure.NEVER_LIVE),
    Phase("switch", switch, failure=Failure.ROLL_BACK),
    Phase("reload", Release.reload, failure=Failure.ROLL_BACK),
    HookPoint("after_switch", Failure.ROLL_BACK),
    Phase("verify", Release.verify, changes=False, failure=Failure.ROLL_BACK),
    HookPoint("with_verify", Failure.ROLL_BACK),  # run beside the verify, followed after it
    HookPoint("after_verify", Failure.ROLL_BACK),
    Phase("clean", clean),
]

ROLLBACK = [
    Phase("lock", lock, quiet=True),
    Phase("pick", pick, quiet=True),
    Phase("check", check_target, changes=False, quiet=True),
    Phase("switch", switch_back, failure=Failure.ROLL_BACK),
    Phase("reload", Release.reload, failure=Failure.ROLL_BACK),
    Phase("verify", Release.verify, changes=False, failure=Failure.ROLL_BACK),
    HookPoint("after_rollback", Failure.STOP),
]


def list_releases(
    session: Session, play: Play, options: DeployOptions, out: Output, tally: Tally
) -> None:
    host = Host.connect(session, play, options.overrides)
    name = session.target.name
    plan = release_plan(host.roles, host)
    if plan is None:
        out.line(f"[{name}] no app runs here")
        return
    state = Release("releases", host, plan, play, options, out, tally).read_state()
    previous = state.previous()
    if not state.releases:
        out.line(f"[{name}] no releases yet")
    width = max([26, *(len(rel.id) for rel in state.releases)])
    for rel in reversed(state.releases):
        flags = {"live": rel.id == state.current, "previous": rel.id == previous,
                 "bad": rel.bad, "rolled back": rel.rolled_back,
                 "never verified": rel.unverified and not rel.bad}  # fmt: skip
        marks = [mark for mark, on in flags.items() if on]
        out.line(f"[{name}] {rel.id:<{width}} {', '.join(marks):<16} venv {rel.venv}")
