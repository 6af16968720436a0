"""What a run changed in files, kept on the server so that a failed deploy can put the
server back as it was before it.

Before a task replaces a file, its old copy is saved in a folder of the run's own (in the
same round trip as the change); ``restore`` puts every saved file back, removes those that
did not exist, and names the handlers their tasks notified, to run again (a unit file
restored needs systemd to read it, a service restarted with it).

Example::

    undo = Undo("/var/lib/provision/undo/hello")
    TaskRun(session, out, tasks, handlers, undo=undo).run()
    ...
    execute(session, undo.restore())     # the deploy failed
"""

from __future__ import annotations

from dataclasses import dataclass, field

from provision.core.command import Command

ROOT = "/var/lib/provision/undo"


@dataclass
class Undo:
    """The saved copies of one run's changed files, in ``folder`` on the server."""

    folder: str
    paths: list[str] = field(default_factory=list)
    notified: list[str] = field(default_factory=list)  # handler names, in order

    def save(self, path: str, notify: tuple[str, ...]) -> list[Command]:
        """The commands that keep the file at ``path`` before it changes (or that it did
        not exist); the first also clears what a run that died left behind."""
        n = len(self.paths)
        self.paths.append(path)
        self.notified += [name for name in notify if name not in self.notified]
        keep = f"{self.folder}/{n}"
        first = [Command.of("rm", "-rf", self.folder), Command.of("mkdir", "-p", self.folder)]
        return [
            *(first if n == 0 else []),
            Command.script(
                "if [ -e {path} ] || [ -L {path} ]; then cp -a {path} {keep}; "
                "else touch {keep}.absent; fi",
                path=path,
                keep=keep,
            ),
        ]

    def restore(self) -> list[Command]:
        """Every saved file back in place, newest change first; the folder removed."""
        commands = []
        for n, path in reversed(list(enumerate(self.paths))):
            keep = f"{self.folder}/{n}"
            commands.append(
                Command.script(
                    "if [ -e {keep} ] || [ -L {keep} ]; then mv -fT {keep} {path}; "
                    "elif [ -e {keep}.absent ]; then rm -f {path}; fi",
                    path=path,
                    keep=keep,
                )
            )
        return [*commands, self.discard()]

    def discard(self) -> Command:
        """The saved copies removed (the run succeeded, or they were restored)."""
        return Command.of("rm", "-rf", self.folder)
