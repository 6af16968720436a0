"""What a person sees: one line per task per host, diffs, and one recap line per host."""

from __future__ import annotations

import difflib
import os
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from provision.core.command import Masker


class Program:
    """The name people run provision by, for the commands its messages suggest: ``fab``,
    or ``provision`` (which ``provision.main`` sets)."""

    name = "fab"


def suggested(words: str) -> str:
    """``words`` as a command to type: ``suggested("releases")`` -> ``fab releases``."""
    return f"{Program.name} {words}"


def shown(path: Path) -> str:
    """A file as the operator finds it: relative to where they run, when it is below."""
    here = Path.cwd()
    return str(path.relative_to(here)) if path.is_relative_to(here) else str(path)


@dataclass
class Tally:
    ok: int = 0
    changed: int = 0
    failed: int = 0
    round_trips: int = 0
    errors: list[str] = field(default_factory=list)


class Output:
    """Thread-safe printer; every line passes through the secret mask.

    Example::

        out = Output()
        out.task("web1", "changed", "ssh", "file /etc/ssh/...", "update")
        out.recap({"web1": Tally(ok=9, changed=1)})   # web1 : ok=9 changed=1 failed=0
    """

    def __init__(self, stream: TextIO | None = None, verbose: bool = False) -> None:
        self.stream = stream or sys.stdout
        self.verbose = verbose
        self.mask = Masker()
        self._lock = threading.Lock()

    def line(self, text: str) -> None:
        with self._lock:
            try:
                print(self.mask(text), file=self.stream, flush=True)
            except BrokenPipeError:
                # The reader went away (`fab releases | head`): the run goes on, unprinted,
                # rather than stop halfway through a deploy.
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, self.stream.fileno())
                os.close(devnull)

    def task(
        self, host: str, status: str, role: str, name: str, detail: str = "", always: bool = False
    ) -> None:
        """One task's line; an ``ok`` task's detail (why nothing changed) only when verbose."""
        shown = f"  ({detail})" if detail and (status != "ok" or self.verbose or always) else ""
        self.line(f"[{host}] {status:<9} {role}: {name}{shown}")

    def error(self, host: str, message: str) -> None:
        for i, text in enumerate(message.rstrip().splitlines() or [""]):
            self.line(f"[{host}] {'error:' if i == 0 else '      '} {text}")

    def diff(self, host: str, path: str, old: bytes | None, new: bytes, sensitive: bool) -> None:
        if sensitive:
            self.line(f"[{host}] --- {path}: content hidden (sensitive)")
            return
        try:
            before = (old or b"").decode().splitlines(keepends=True)
            after = new.decode().splitlines(keepends=True)
        except UnicodeDecodeError:
            self.line(f"[{host}] --- {path}: binary content differs")
            return
        label = "/dev/null" if old is None else f"{path} (on host)"
        lines = difflib.unified_diff(before, after, label, f"{path} (wanted)")
        self.line("".join(f"[{host}] {ln.rstrip(chr(10))}\n" for ln in lines).rstrip("\n"))

    def recap(self, tallies: dict[str, Tally]) -> None:
        self.line("")
        for host, t in tallies.items():
            self.line(f"{host} : ok={t.ok} changed={t.changed} failed={t.failed}")
