"""The README's install and test commands are the ones CI runs."""

import io
import re
import shlex

import pytest

from provision.deploy import DEPLOY
from provision.engine import Project, build_tasks, parse_overrides, played
from provision.output import Output
from provision.roles import resolve_vars
from tests.helpers import ROOT
from tests.unit.test_rendering import HOST


def ci_command(name):
    text = (ROOT / ".ci/run").read_text()
    return re.search(rf'^{name}="(.*)"$', text, re.M).group(1).replace("\\'", "'")


def test_readme_states_the_commands_ci_runs():
    readme = (ROOT / "README.md").read_text().splitlines()
    assert f"    {ci_command('INSTALL')}" in readme
    assert f"    {ci_command('TEST')}" in readme


# -- the output samples ---------------------------------------------------------------
# Those between <!-- sample NAME --> and <!-- /sample --> are written by docs/samples.py
# from a real run; these tests fail when what the code would print has moved away from
# them: the tasks a play runs, in order, and the recap that counts them.

SAMPLE = re.compile(r"^<!-- sample (\S+) -->\n(.*?)^<!-- /sample -->\n", re.M | re.S)
TASK = re.compile(
    r"^\[(\S+)\] (ok|changed|would-chg|failed) +(\S+(?: handler)?): (.*?)"
    r"(?:  \(.*\))?$"
)


def samples():
    text = (ROOT / "README.md").read_text()
    return {name: [ln[4:] for ln in body.splitlines()] for name, body in SAMPLE.findall(text)}


def runs(lines):
    """(command line, its output lines) for each `$ fab ...` of a sample."""
    found = []
    for line in lines:
        if line.startswith("$ "):
            found.append((line[2:], []))
        elif found:
            found[-1][1].append(line)
    return [(cmd, out) for cmd, out in found if cmd.startswith("fab ")]


def test_every_sample_was_written_by_the_script():
    made = samples()
    script = (ROOT / "docs/samples.py").read_text()
    assert made, "no samples in the README"
    for name, lines in made.items():
        assert lines and lines[0].startswith("$ "), name
        assert f'"{name}"' in script, f"{name}: docs/samples.py does not make it"


def expected_tasks(play, overrides):
    project = Project.load(ROOT)
    book = project.play(play, overrides)
    # the sandbox's settings: the inventory's vars (it has none of its own)
    settings = resolve_vars(book.every_role, project.inventory.data.get("vars") or {},
                            overrides)  # fmt: skip
    tasks, handlers = build_tasks(book.roles, settings, HOST, Output(io.StringIO()), book.peers)
    names = [f"{t.role}: {t.op.name}" for t in tasks]
    if play == "bootstrap":
        names += [f"{t.role}: {t.op.name}" for t in played(play)]
    return names, {f"{t.role}: {t.op.name}" for t in handlers.values()}


@pytest.mark.parametrize("name", sorted(samples()))
def test_a_samples_tasks_and_recap_are_what_the_code_runs(name):
    for command, out in runs(samples()[name]):
        words = shlex.split(command, comments=True)
        play = words[1]
        if play not in ("bootstrap", "deploy") or "error:" in " ".join(out):
            continue
        overrides = parse_overrides([w for i, w in enumerate(words) if words[i - 1] == "--set"])
        tasks, handlers = expected_tasks(play, overrides)
        shown = [m for line in out if (m := TASK.match(line))]
        roles = [f"{m[3]}: {m[4]}" for m in shown if m[3] != "release"]
        # a phase, or a hook point's step ("before_check: release command")
        phases = [m[4].split(":")[0] for m in shown if m[3] == "release"]
        ran = [t for t in roles if t not in handlers]
        assert set(roles) - set(ran) <= handlers, (command, roles)
        flow = [p.name for p in DEPLOY]
        assert phases == [p for p in flow if p in phases], (command, phases)
        if "..." in out:  # elided: what it shows is in the code's order
            assert ran == [t for t in tasks if t in ran], (command, ran)
            continue
        assert ran == tasks, (command, ran, tasks)
        [recap] = [line for line in out if line.startswith("sandbox : ok=")]
        counts = [int(n) for n in re.findall(r"=(\d+)", recap)]
        assert sum(counts) == len(shown), (command, recap, len(shown))
