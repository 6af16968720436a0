"""Directories, files and symlinks."""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Iterable

from provision.core.command import Command, Shell, quote
from provision.core.facts import PathInfo, PathState

from .base import Change, FileDiff, NoChange, Operation, OperationError, notify_names, octal


def ownership(path: str, state: PathState | None, owner: str, group: str, mode: int) -> list:
    commands = []
    if state is None or (state.owner, state.group) != (owner, group):
        commands.append(Command.of("chown", f"{owner}:{group}", path))
    if state is None or state.mode != mode:
        commands.append(Command.of("chmod", f"{mode:04o}", path))
    return commands


def directory(
    path: str,
    owner: str = "root",
    group: str = "root",
    mode: int | str = 0o755,
    name: str | None = None,
) -> Operation:
    """A directory with this owner and mode (parents made as needed).

    Example: ``directory("/srv/app/releases", owner="app", group="app", mode=0o750)``
    """
    mode = octal(mode)

    def decide(state: PathState | None) -> Change | NoChange:
        if state is not None and state.kind != "directory":
            raise OperationError(f"{path} exists but is a {state.kind}, not a directory")
        fix = ownership(path, state, owner, group, mode)
        if not fix:
            return NoChange(f"{path} is a directory {owner}:{group} {mode:04o}")
        make = [Command.of("mkdir", "-p", path)] if state is None else []
        return Change(make + fix, "create" if state is None else "fix owner/mode")

    return Operation(name or f"directory {path}", {"state": PathInfo(path)}, decide)


def file(
    path: str,
    content: str | bytes,
    owner: str = "root",
    group: str = "root",
    mode: int | str = 0o644,
    validate: str | None = None,
    sensitive: bool = False,
    notify: str | Iterable[str] | None = None,
    name: str | None = None,
) -> Operation:
    """A file with exactly this content, owner and mode.

    The content goes to a temporary file beside ``path`` and is renamed into place, so a
    reader never sees half a file. ``validate`` is a shell test: with ``%s`` it checks the
    temporary file before the rename; without, it checks the live configuration after
    the rename and puts the old file back if the test fails (``sshd -t``, ``nginx -t``).
    ``sensitive`` keeps the content out of diffs.

    Example: ``file("/etc/motd", "hello\\n", mode="0644")``
    """
    data = content.encode() if isinstance(content, str) else content
    digest = hashlib.sha256(data).hexdigest()
    mode = octal(mode)
    folder, base = posixpath.split(path)
    tmp = posixpath.join(folder, f".{base}.provision-new")
    old = posixpath.join(folder, f".{base}.provision-old")

    def decide(state: PathState | None) -> Change | NoChange:
        if state is not None and state.kind != "file":
            raise OperationError(f"{path} exists but is a {state.kind}, not a file")
        if state is not None and state.sha256 == digest:
            fix = ownership(path, state, owner, group, mode)
            if not fix:
                return NoChange(f"{path} has the wanted content, owner and mode")
            return Change(fix, "fix owner/mode")
        commands = [
            Command.of("dd", f"of={tmp}", "status=none", stdin=data),
            *ownership(tmp, None, owner, group, mode),
        ]
        commands += _install(validate, path, tmp, old, exists=state is not None)
        what = "create" if state is None else "update content"
        return Change(commands, what, FileDiff(path, data, sensitive))

    return Operation(
        name or f"file {path}", {"state": PathInfo(path)}, decide, notify_names(notify)
    )


def _install(validate: str | None, path: str, tmp: str, old: str, exists: bool) -> list[Command]:
    if validate is None:
        return [Command.of("mv", "-f", tmp, path)]
    if "%s" in validate:
        # ``validate`` is the role's own shell test; only the path put into it is quoted.
        check = validate.replace("%s", quote(tmp))
        return [
            Command.script(
                "if ! {check}; then rm -f {tmp}; exit 1; fi", check=Shell(check), tmp=tmp
            ),
            Command.of("mv", "-f", tmp, path),
        ]
    keep = [Command.of("cp", "-a", path, old)] if exists else []
    undo = Command.of("mv", "-f", old, path) if exists else Command.of("rm", "-f", path)
    done = [Command.of("rm", "-f", old)] if exists else []
    return [
        *keep,
        Command.of("mv", "-f", tmp, path),
        Command.script("if ! {test}; then {undo}; exit 1; fi", test=Shell(validate), undo=undo),
        *done,
    ]


def link(
    path: str,
    target: str,
    owner: str = "root",
    group: str = "root",
    name: str | None = None,
    notify: str | Iterable[str] | None = None,
) -> Operation:
    """A symlink at ``path`` pointing to ``target``, switched atomically by rename.

    Example: ``link("/srv/app/current", "releases/20260101-120000")``
    """
    tmp = f"{path}.provision-new"

    def decide(state: PathState | None) -> Change | NoChange:
        if state is not None and state.kind != "link":
            raise OperationError(f"{path} exists but is a {state.kind}, not a symlink")
        if state is not None and (state.target, state.owner, state.group) == (target, owner, group):
            return NoChange(f"{path} -> {target}")
        commands = [
            Command.of("ln", "-sfn", target, tmp),
            Command.of("chown", "-h", f"{owner}:{group}", tmp),
            Command.of("mv", "-T", "-f", tmp, path),
        ]
        return Change(commands, f"point to {target}")

    return Operation(
        name or f"link {path}", {"state": PathInfo(path)}, decide, notify_names(notify)
    )


def absent(
    path: str, name: str | None = None, notify: str | Iterable[str] | None = None
) -> Operation:
    """Nothing at ``path`` (a file or a symlink; a directory is refused).

    Example: ``absent("/etc/nginx/sites-enabled/default")``
    """

    def decide(state: PathState | None) -> Change | NoChange:
        if state is None:
            return NoChange(f"{path} is absent")
        if state.kind == "directory":
            raise OperationError(f"{path} is a directory; refusing to remove it")
        return Change([Command.of("rm", "-f", path)], "remove")

    return Operation(
        name or f"absent {path}", {"state": PathInfo(path)}, decide, notify_names(notify)
    )


def tree_absent(path: str, name: str | None = None) -> Operation:
    """Nothing at ``path``, a directory and all it holds included (a folder the tool made
    for something now removed); only below a top-level folder (``/srv/hello/releases``).

    Example: ``tree_absent("/srv/hello/venvs")``
    """
    if not path.startswith("/") or path.rstrip("/").count("/") < 2 or ".." in path.split("/"):
        raise ValueError(f"tree_absent: {path!r} is not a path below a top-level folder")

    def decide(state: PathState | None) -> Change | NoChange:
        if state is None:
            return NoChange(f"{path} is absent")
        return Change([Command.of("rm", "-rf", "--one-file-system", path)], "remove")

    return Operation(name or f"absent {path}", {"state": PathInfo(path)}, decide)
