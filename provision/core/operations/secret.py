"""Secrets made on the server, and files that carry them: a value made here never leaves
the server (not in output, diffs, facts or the repository)."""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass

from provision.core.command import Command
from provision.core.facts import Fact, PathInfo, PathState

from .base import Change, FileDiff, NoChange, Operation, OperationError, notify_names, octal
from .files import ownership

# 43 URL-safe characters (256 random bits): fits in a URL, a .env line or SQL unquoted.
_GENERATE = "import secrets, sys; sys.stdout.write(secrets.token_urlsafe(32))"

# Puts each secret's value in place of its placeholder in a file, in place. Arguments: the
# file, then placeholder and secret path pairs.
_SUBSTITUTE = """
import sys
path, pairs = sys.argv[1], sys.argv[2:]
text = open(path).read()
for placeholder, secret in zip(pairs[::2], pairs[1::2]):
    try:
        value = open(secret).read()
    except FileNotFoundError:
        sys.exit(f"no secret at {secret}: the play that makes it has not run here")
    text = text.replace(placeholder, value)
open(path, "w").write(text)
"""


# Prints the sha256 of a file with every secret's value put back as its placeholder;
# nothing when the file is missing. Arguments: the file, then placeholder and secret path
# pairs. A missing secret leaves its placeholder unmatched.
_UNSUBSTITUTED = """
import hashlib, sys
path, pairs = sys.argv[1], sys.argv[2:]
try:
    text = open(path).read()
except FileNotFoundError:
    sys.exit(0)
for placeholder, secret in zip(pairs[::2], pairs[1::2]):
    try:
        value = open(secret).read()
    except FileNotFoundError:
        continue
    if value:
        text = text.replace(value, placeholder)
print(hashlib.sha256(text.encode()).hexdigest())
"""


@dataclass(frozen=True)
class SecretTemplateDigest(Fact[str | None]):
    """The sha256 of a file that carries server-made secrets, taken with each secret's
    value replaced by its placeholder: comparable with the template's own digest, while
    the secrets never leave the server. None when the file is missing."""

    path: str
    secrets: tuple[tuple[str, str], ...]  # (placeholder, secret file)

    def command(self) -> str:
        pairs = [part for pair in self.secrets for part in pair]
        return Command.of("python3", "-I", "-c", _UNSUBSTITUTED, self.path, *pairs).render()

    def parse(self, output: str) -> str | None:
        return output.strip() or None


def generated(
    path: str, owner: str = "root", group: str = "root", mode: int | str = 0o600
) -> Operation:
    """A random secret in the file ``path``, made on the server the first time and kept
    as it is ever after.

    Example: ``generated("/etc/provision/secrets/hello-postgres", owner="postgres")``
    """
    mode = octal(mode)
    tmp = f"{path}.provision-new"

    def decide(state: PathState | None) -> Change | NoChange:
        if state is not None and state.kind != "file":
            raise OperationError(f"{path} exists but is a {state.kind}, not a file")
        if state is not None:
            fix = ownership(path, state, owner, group, mode)
            return Change(fix, "fix owner/mode") if fix else NoChange(f"{path} exists")
        make = Command.script(
            "mkdir -p {folder} && (umask 077 && python3 -I -c {make} > {tmp})",
            label=f"generate a secret into {tmp}",
            folder=posixpath.dirname(path),
            make=_GENERATE,
            tmp=tmp,
        )
        commands = [make, *ownership(tmp, None, owner, group, mode)]
        return Change([*commands, Command.of("mv", "-f", tmp, path)], "generate")

    return Operation(f"secret {path}", {"state": PathInfo(path)}, decide)


def template(
    path: str,
    content: str,
    secrets: dict[str, str],
    owner: str = "root",
    group: str = "root",
    mode: int | str = 0o600,
    notify: str | Iterable[str] | None = None,
) -> Operation:
    """A file with this content, where each placeholder in ``secrets`` is replaced on the
    server by the content of its secret file. Compared without the secrets' values, so
    that they never leave the server; the content is kept out of diffs.

    Example: ``template("/srv/hello/shared/.env", "URL=pg://app:@PW@@localhost\\n",
    {"@PW@": "/etc/provision/secrets/hello-postgres"}, owner="app")``
    """
    mode = octal(mode)
    wanted = hashlib.sha256(content.encode()).hexdigest()
    pairs = tuple(secrets.items())
    folder, base = posixpath.split(path)
    tmp = posixpath.join(folder, f".{base}.provision-new")
    facts = {"state": PathInfo(path), "digest": SecretTemplateDigest(path, pairs)}

    def decide(state: PathState | None, digest: str | None) -> Change | NoChange:
        if state is not None and state.kind != "file":
            raise OperationError(f"{path} exists but is a {state.kind}, not a file")
        if state is not None and digest == wanted:
            fix = ownership(path, state, owner, group, mode)
            if not fix:
                return NoChange(f"{path} has the wanted content, owner and mode")
            return Change(fix, "fix owner/mode")
        flat = [part for pair in pairs for part in pair]
        commands = [
            Command.of("dd", f"of={tmp}", "status=none", stdin=content.encode()),
            Command.of("python3", "-I", "-c", _SUBSTITUTE, tmp, *flat),
            *ownership(tmp, None, owner, group, mode),
            Command.of("mv", "-f", tmp, path),
        ]
        what = "create" if state is None else "update content"
        return Change(commands, what, FileDiff(path, content.encode(), sensitive=True))

    return Operation(f"file {path}", facts, decide, notify_names(notify))
