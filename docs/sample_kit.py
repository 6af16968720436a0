"""What docs/samples.py's runs share: running `provision` as a person types it, cutting
its output the way the documentation shows it, and putting the samples into its pages."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from provision.core.transport import Session  # noqa: E402
from provision.project.plays import Project  # noqa: E402

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MARK = re.compile(r"^<!-- sample (\S+) -->\n(.*?)^<!-- /sample -->\n", re.M | re.S)
Keep = Callable[[list[str]], list[str]]


def run_provision(*args: str, stdout_only: bool = False, cwd: Path = ROOT
                  ) -> subprocess.CompletedProcess:  # fmt: skip
    """`provision ARGS` in ``cwd`` (the repository's root), as a person types it: its
    output in the order a terminal shows it (standard error and output together, unless
    ``stdout_only``)."""
    err = subprocess.DEVNULL if stdout_only else subprocess.STDOUT
    return subprocess.run([sys.executable, "-m", "provision.main", *args], cwd=cwd, text=True,
                          stdout=subprocess.PIPE, stderr=err)  # fmt: skip


def provision_watched(
    args: list[str], when: Callable[[str], bool], then: Callable[[], None]
) -> str:
    """`provision ARGS`, read line by line as it prints: ``then()`` once, at the first line
    ``when`` says; what it printed."""
    command = [sys.executable, "-m", "provision.main", *args]
    proc = subprocess.Popen(command, cwd=ROOT, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})  # fmt: skip
    printed: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        printed.append(line)
        if when(line) and then is not None:
            then()
            then = None  # type: ignore[assignment]
    proc.wait()
    return "".join(printed)


def provision(*args: str, cwd: Path = ROOT) -> str:
    """What `provision ARGS` printed (see ``run_provision``)."""
    return run_provision(*args, cwd=cwd).stdout


def everything(lines: list[str]) -> list[str]:
    return lines


def only(keep: Callable[[int, str], bool]) -> Keep:
    """The lines ``keep(index, line)`` says, with ``...`` where others were left out."""

    def pick(lines: list[str]) -> list[str]:
        shown: list[str] = []
        for i, line in enumerate(lines):
            if keep(i, line):
                shown.append(line)
            elif not shown or shown[-1] != "...":
                shown.append("...")
        return shown

    return pick


def task_line(line: str) -> bool:
    return bool(re.match(r"^\[\S+\] (ok|changed|would-chg|failed) ", line))


def release_or_first(count: int) -> Keep:
    """Every line but the roles' tasks: of those, the first ``count`` after a header."""

    seen = [0]  # the roles' task lines since the last other line

    def keep(i: int, line: str) -> bool:
        if not task_line(line) or " release: " in line:
            seen[0] = 0
            return True
        seen[0] += 1
        return seen[0] <= count

    return only(keep)


def sample(shown: str, output: str, keep: Keep = everything) -> str:
    lines = output.rstrip("\n").splitlines()
    body = [f"$ {shown}", *keep(lines)]
    return "".join(f"    {line}\n" if line else "\n" for line in body)


class Run:
    """The samples made so far, by name."""

    def __init__(self) -> None:
        self.made: dict[str, str] = {}

    def add(self, name: str, shown: str, output: str, keep: Keep = everything) -> None:
        """Append a command and its output to sample ``name`` (a blank line between)."""
        before = self.made.get(name)
        self.made[name] = (f"{before}\n" if before else "") + sample(shown, output, keep)


def session(host: str = "sandbox", inventory: str = "inventory.yaml") -> Session:
    """A session to one host of an inventory, as the tasks open it."""
    [target] = Project.load(ROOT, inventory).targets(host)
    return Session(target)


def frames_and_roles_left_out(lines: list[str]) -> list[str]:
    """A failure as the documentation shows it: the roles' task lines left out, and in each
    traceback only the app's own frames (Python's and the libraries': ``...``)."""
    shown: list[str] = []
    dropping = -1  # the indent of a library's frame being left out, or -1
    for line in lines:
        text = line.split("] ", 1)[-1]
        indent = len(text) - len(text.lstrip())
        if dropping >= 0 and indent > dropping:
            continue  # that frame's source line and its carets
        dropping = -1
        if task_line(line) and " release: " not in line:
            continue
        stripped = text.strip()
        own = '"/srv/' in stripped and not any(
            lib in stripped for lib in ("/site-packages/", "provision_gunicorn")
        )
        if stripped.startswith('File "') and not own:
            dropping = indent
            if not shown[-1].endswith(" ..."):
                shown.append(line[: len(line) - len(text)] + " " * indent + "...")
            continue
        shown.append(line)
    return shown


def app_copy(path: str, change: Callable[[str], str]) -> str:
    """A copy of the example app at ``path`` with ``main.py`` changed."""
    shutil.rmtree(path, ignore_errors=True)
    shutil.copytree(ROOT / "example-app", path)
    main = Path(path, "main.py")
    main.write_text(change(main.read_text()))
    return path


def write(made: dict[str, str]) -> list[str]:
    """Put the samples into the pages that hold their marks; the names the pages have that
    this run did not make."""
    missing: list[str] = []

    def fill(m: re.Match) -> str:
        if m[1] not in made:
            missing.append(m[1])
        return f"<!-- sample {m[1]} -->\n{made.get(m[1], m[2])}<!-- /sample -->\n"

    for page in PAGES:
        page.write_text(MARK.sub(fill, page.read_text()))
    return missing
