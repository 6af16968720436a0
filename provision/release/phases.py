"""The commands of each release phase: settings and facts in, ``Command``s out.

Nothing here runs anything; ``deploy`` runs these in its flow. Every function is pure, so
a unit test states exactly what a phase sends.
"""

from __future__ import annotations

import io
import json
import posixpath
import struct
import zipfile
from collections.abc import Sequence
from pathlib import Path

from provision.core.command import Command, Shell
from provision.core.runner import TaskFailed
from provision.release.layout import BAD, DONE, REQUIREMENTS, ROLLED_BACK, UNVERIFIED, Layout
from provision.release.releases import Releases

POLL = (Path(__file__).parent / "on_server" / "wait_healthy.py").read_text()
RUN_IN_RELEASE = (Path(__file__).parent / "on_server" / "run_in_release.py").read_text()
CHECK_FILES = "/run/lock/provision-{service}.check"  # .pid and .log: one check at a time
OUTPUT = "--- its output:"  # in a failed check's error, before what the release printed
CHECKED = Shell('"$pid"')  # in the check's script: the pid of the release being checked
EXTRACT = (Path(__file__).parent / "on_server" / "extract.py").read_text()


def as_app(user: str, *argv: str) -> Command:
    """``argv`` run as the app's user, with a clean environment."""
    reset = ("--reuid", user, "--regid", user, "--init-groups", "--reset-env")
    return Command.of("setpriv", *reset, *argv)


def in_release(layout: Layout, user: str, release_dir: str, command: str) -> Command:
    """``command`` (a shell command line) run as the app's user in ``release_dir``, with its
    virtualenv and the settings of ``shared/.env``: see ``run_in_release.py``."""
    return as_app(user, "python3", "-I", "-c", RUN_IN_RELEASE, f"{layout.shared}/.env",
                  layout.root, release_dir, command)  # fmt: skip


def upload(layout: Layout, user: str, rid: str, data: bytes) -> list[Command]:
    """Unpack the release's tarball into ``incoming/<id>``, as the app user."""
    incoming = layout.incoming(rid)
    return [
        Command.of("rm", "-rf", incoming),
        Command.of("install", "-d", "-o", user, "-g", user, incoming),
        Command.of(*as_app(user, "tar", "-xzf", "-", "-C", incoming).parts, stdin=data),
    ]


def install(layout: Layout, rid: str) -> list[Command]:
    """Move the uploaded wheels to ``wheels/`` and the release to ``releases/<id>``,
    marked unverified (see ``layout``)."""
    incoming, release = layout.incoming(rid), layout.release(rid)
    return [
        Command.script(
            "if [ -d {new} ]; then find {new} -name '*.whl' -exec mv -f -t {wheels} {{}} +; fi",
            new=f"{incoming}/wheels",
            wheels=layout.wheels,
        ),
        Command.of("rm", "-rf", release),
        Command.of("mv", "-T", f"{incoming}/release", release),
        Command.of("touch", layout.release(rid, UNVERIFIED)),  # until it passed verify live
        Command.of("rm", "-rf", incoming),
    ]


def venv(
    layout: Layout, user: str, rid: str, digest: str, built: bool, uv: str | None = None
) -> list[Command]:
    """Link the release to the venv of its exact requirements, building it if need be:
    with the ``uv`` binary at that path on the server when given, else with pip.

    A venv is built aside, under a name of this release's own, then renamed in: a build
    orphaned by a dropped connection can never write into a venv a later deploy uses.
    Its scripts (``alembic``, ``celery``) are then made to start the renamed venv's python.
    """
    release = layout.release(rid)
    link = [as_app(user, "ln", "-sfn", Layout.venv_link(digest), f"{release}/venv")]
    if built:
        return link
    aside = layout.venv(f".{digest}.{rid}")
    wanted = ["--no-index", "--no-deps", "--find-links", layout.wheels,
              "-r", f"{release}/{REQUIREMENTS}"]  # fmt: skip
    if uv:
        # No configuration file nor project of the working directory's; no cache (it would
        # be the app user's); bytecode compiled now, as the venv is then made root's.
        quiet = ["--quiet", "--no-config", "--no-cache"]
        make = [as_app(user, uv, "venv", *quiet, "--no-project", "--python", "/usr/bin/python3",
                       aside)]  # fmt: skip
        fill = [uv, "pip", "install", *quiet, "--offline", "--compile-bytecode",
                "--python", f"{aside}/bin/python", *wanted]  # fmt: skip
    else:
        make = [as_app(user, "python3", "-m", "venv", aside)]
        fill = [f"{aside}/bin/pip", "install", "--quiet", "--disable-pip-version-check", *wanted]
    final = layout.venv(digest)
    shebang = f"1,3s|{aside}/bin/|{final}/bin/|"  # also pip's sh-exec form, for spaces
    # find needs a working directory the app user may enter (setpriv keeps root's)
    scripts = ["env", "-C", f"{aside}/bin", "find", ".", "-maxdepth", "1", "-type", "f",
               "-exec", "sed", "-i", shebang, "{}", "+"]  # fmt: skip
    return [
        Command.of("rm", "-rf", aside),
        Command.of("install", "-d", "-o", user, "-g", user, aside),
        *make,
        as_app(user, *fill),
        as_app(user, *scripts),
        as_app(user, "touch", f"{aside}/{DONE}"),
        Command.of("rm", "-rf", final),
        Command.of("mv", "-T", aside, final),
        *handed_over(final),
        *link,
    ]


def tool(path: str, wheel: bytes, member: str) -> list[Command]:
    """Put ``member`` of a wheel (a program such as uv) at ``path`` on the server, root's
    and executable by all. The member alone comes on stdin, as the wheel stores it, and is
    inflated as it arrives (see ``extract.py``); the file is renamed in when whole, so two
    deploys at once (two apps) never see half of it."""
    data, method, crc, size = stored(wheel, member)
    args = ("-I", "-c", EXTRACT, f"{method}", f"{crc}", f"{size}", path)
    return [Command.of("mkdir", "-p", posixpath.dirname(path)),
            Command.of("python3", *args, stdin=data)]  # fmt: skip


def stored(archive: bytes, member: str) -> tuple[bytes, int, int, int]:
    """``member`` of a zip ``archive`` as the archive stores it: (its bytes, compression
    method, CRC-32, size once inflated)."""
    try:
        info = zipfile.ZipFile(io.BytesIO(archive)).getinfo(member)
    except (KeyError, zipfile.BadZipFile) as e:
        raise TaskFailed(f"cannot read {member} of the wheel: {e}") from e
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise TaskFailed(f"{member}: compression method {info.compress_type}, not deflate")
    # its data follows its local header: 30 bytes, then its name and extra field
    name, extra = struct.unpack_from("<HH", archive, info.header_offset + 26)
    start = info.header_offset + 30 + name + extra
    return archive[start : start + info.compress_size], info.compress_type, info.CRC, info.file_size


def handed_over(path: str) -> list[Command]:
    """``path`` made root's, readable by all and writable by none else: the app user built
    it, and must not be able to change the code it runs."""
    return [Command.of("chown", "-R", "root:root", path),
            Command.of("chmod", "-R", "u+w,go-w,a+rX", path)]  # fmt: skip


def link_shared(layout: Layout, user: str, rid: str, links: dict[str, str]) -> list[Command]:
    """Link paths of the release to what outlives releases (``links``: path in the release
    -> path under the app's root), replacing whatever the release shipped there; then
    mark the release complete."""
    release = layout.release(rid)
    commands = []
    for name, target in links.items():
        path = f"{release}/{name}"
        folder = posixpath.dirname(path)
        relative = posixpath.relpath(layout.path(target), folder)
        if folder != release:
            commands.append(as_app(user, "mkdir", "-p", folder))
        commands += [as_app(user, "rm", "-rf", path), as_app(user, "ln", "-sfn", relative, path)]
    return [*commands, as_app(user, "touch", f"{release}/{DONE}")]


def poll(url: str, rid: str, timeout: float, pid: str = "", smoke: Sequence[str] = ()) -> Command:
    """Wait until ``url`` answers 200 from release ``rid``, then ask each ``smoke`` path
    once (see ``wait_healthy``). ``pid``: the process serving it (``Shell`` text in a
    script), whose exit ends the wait."""
    args = ["python3", "-I", "-S", "-c", POLL, url, rid, f"{timeout:g}", pid or "-", *smoke]
    return Command(tuple(args), label=f"wait until {url} answers from {rid}")


def check(
    layout: Layout,
    user: str,
    rid: str,
    service: str,
    start: list[str],
    health: Command,
    noise: str,
) -> Command:
    """Start the release on the spare port and wait for its health; the live one is untouched.

    The release runs in a session of its own, so that it and its workers end at once; one
    left by an interrupted deploy is ended first. ``health`` is a ``poll`` whose pid is
    ``CHECKED``, the release's. When the check fails, what the release printed follows
    ``OUTPUT`` on stderr, without ``noise`` lines.
    """
    files = CHECK_FILES.format(service=service)
    release = layout.release(rid)
    env = f"PROVISION_RELEASE_DIR={release}"
    return Command.script(
        "old=$(cat {pidfile} 2>/dev/null); "
        '[ -n "$old" ] && /bin/kill -KILL -- -"$old" 2>/dev/null; '
        "cd {release}; setsid {start} > {log} 2>&1 & pid=$!; echo $pid > {pidfile}; "
        "if {health} >/dev/null; then rc=0; else rc=1; fi; "
        '/bin/kill -KILL -- -"$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -f {pidfile}; '
        "if [ $rc -ne 0 ]; then echo {output} >&2; grep -avE {noise} {log} | tail -n 1000 >&2; "
        "fi; rm -f {log}; exit $rc",
        label=f"start {rid} on a spare port and wait for its health",
        pidfile=f"{files}.pid",
        log=f"{files}.log",
        release=release,
        start=as_app(user, "env", env, *start),
        health=health,
        output=OUTPUT,
        noise=noise,
    )


def switch(layout: Layout, user: str, rid: str) -> list[Command]:
    """Point ``current`` at the release: a new symlink renamed over the old one. The
    release is handed to root first (its check wrote what its workers preload), and the
    link is root's too: the app can change neither."""
    new = layout.path("current.provision-new")
    return [
        *handed_over(layout.release(rid)),
        Command.of("ln", "-sfn", Layout.release_link(rid), new),
        Command.of("mv", "-T", "-f", new, layout.current),
    ]


def roll_back(layout: Layout, user: str, away_from: str | None, to: str) -> list[Command]:
    """Switch back to ``to``; ``away_from`` is marked, so that later rollbacks skip it."""
    mark = [Command.of("touch", layout.release(away_from, ROLLED_BACK))] if away_from else []
    unmark = Command.of("rm", "-f", layout.release(to, ROLLED_BACK))
    return [*mark, unmark, *switch(layout, user, to)]


def mark_bad(layout: Layout, rid: str) -> list[Command]:
    return [Command.of("touch", layout.release(rid, BAD))]


def clean(layout: Layout, state: Releases, rid: str, keep: int) -> list[Command]:
    """Remove releases beyond ``keep`` (never the live or previous one), venvs nothing uses,
    and what interrupted deploys left: incomplete releases, venvs built aside, uploads."""
    old = state.removable(keep)
    return [
        *(Command.of("rm", "-rf", layout.release(r)) for r in old),
        *(Command.of("rm", "-rf", layout.venv(v)) for v in state.unused_venvs(old)),
        Command.script(
            'for d in {releases}/*/; do [ -f "$d{done}" ] || [ "$d" = {this}/ ] || rm -rf "$d"; '
            "done",
            releases=layout.releases,
            done=Shell(DONE),
            this=layout.release(rid),
        ),
        Command.script("rm -rf {venvs}/.[!.]*", venvs=layout.venvs),
        Command.script(
            "find {incoming} -mindepth 1 -maxdepth 1 -exec rm -rf {{}} +",
            incoming=layout.incoming_dir,
        ),
    ]


HISTORY_KEPT = 500  # lines of deploys.log kept once it passes twice that


def record(layout: Layout, entry: dict[str, str]) -> Command:
    """Append ``entry`` to the app's deploy history, as one JSON line."""
    return Command.script(
        "printf '%s\\n' {line} >> {log}; "
        "if [ $(wc -l < {log}) -gt {most} ]; then tail -n {kept} {log} > {log}.new && "
        "mv {log}.new {log}; fi",
        line=json.dumps(entry, sort_keys=True), log=layout.history, most=2 * HISTORY_KEPT,
        kept=HISTORY_KEPT, label=f"record the {entry.get('action', 'run')} in {layout.history}",
    )  # fmt: skip


def forget(layout: Layout) -> Command:
    """The run's intent dropped: it ended, or a later run finished what it left."""
    return Command.of("rm", "-f", layout.intent)
