"""The README's install and test commands are the ones CI runs, and the output samples of
the README and docs/ are what the code prints."""

import io
import re
import shlex

import pytest

from provision.core.output import Output
from provision.project.apply import played
from provision.project.build import build_tasks
from provision.project.plays import Project, parse_overrides
from provision.project.roles import resolve_vars
from provision.release.deploy import DEPLOY
from tests.fakes import HOST
from tests.helpers import ROOT


def ci_command(name):
    text = (ROOT / ".ci/run").read_text()
    return re.search(rf'^{name}="(.*)"$', text, re.M).group(1).replace("\\'", "'")


def test_readme_states_the_commands_ci_runs():
    readme = (ROOT / "README.md").read_text().splitlines()
    assert f"    {ci_command('INSTALL')}" in readme
    assert f"    {ci_command('TEST')}" in readme


# -- the output samples ---------------------------------------------------------------
# Those between <!-- sample NAME --> and <!-- /sample --> (in README.md and docs/*.md) are
# written by docs/samples.py
# from a real run; these tests fail when what the code would print has moved away from
# them: the tasks a play runs, in order, and the recap that counts them.

SAMPLE = re.compile(r"^<!-- sample (\S+) -->\n(.*?)^<!-- /sample -->\n", re.M | re.S)
TASK = re.compile(
    r"^\[(\S+)\] (ok|changed|would-chg|failed) +(\S+(?: handler)?): (.*?)"
    r"(?:  \(.*\))?$"
)


PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def samples():
    text = "".join(page.read_text() for page in PAGES)
    return {name: [ln[4:] for ln in body.splitlines()] for name, body in SAMPLE.findall(text)}


def runs(lines):
    """(command line, its output lines) for each `$ provision ...` of a sample."""
    found = []
    for line in lines:
        if line.startswith("$ "):
            found.append((line[2:], []))
        elif found:
            found[-1][1].append(line)
    return [(cmd, out) for cmd, out in found if cmd.startswith(("provision ", "fab "))]


def test_every_sample_was_written_by_the_script():
    made = samples()
    script = "".join(p.read_text() for p in (ROOT / "docs").glob("*.py"))
    assert made, "no samples in the documentation"
    for name, lines in made.items():
        assert lines and lines[0].startswith("$ "), name
        assert f'"{name}"' in script, f"{name}: docs/samples.py does not make it"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """The project with a sample's inventory (``--inventory``, else the repository's), its
    hosts' keys pointed at a file that exists (the sandbox's are made when it boots)."""
    work = tmp_path_factory.mktemp("inventories")
    key = work / "id_ed25519"
    key.write_text("")

    def load(inventory):
        text = re.sub(r"key: [^,}\n]+", f"key: {key}", (ROOT / inventory).read_text())
        text = re.sub(r"acme_ca_bundle: \S+", f"acme_ca_bundle: {key}", text)
        copy = work / inventory.replace("/", "-")
        copy.write_text(text)
        return Project.load(ROOT, copy)

    return load


def expected_tasks(project, name, host, overrides, app=""):
    """What the play ``name`` runs on the inventory's ``host`` (for its ``app``, where the
    inventory names apps): its tasks and its handlers."""
    play = project.play(name, overrides)
    targets = project.targets(host)
    [target] = project.for_app(targets, app) if app else targets
    settings = resolve_vars(play.every_role, target.vars, overrides)
    apps = {n: resolve_vars(play.every_role, given, overrides) for n, given in target.apps.items()}
    converging = {target.app: settings} if target.app else apps
    peers = play.peers.seen_from(target)
    tasks, handlers = build_tasks(play.roles_of(settings), settings, HOST, Output(io.StringIO()),
                                  peers, converging, play.per_app, list(apps.values()))  # fmt: skip
    names = [f"{t.role}: {t.op.name}" for t in tasks]
    if name == "bootstrap":
        names += [f"{t.role}: {t.op.name}" for t in played(name, list(converging) if apps else [])]
    return names, {f"{t.role}: {t.op.name}" for t in handlers.values()}


@pytest.mark.parametrize("name", sorted(samples()))
def test_a_samples_tasks_and_recap_are_what_the_code_runs(name, project):
    for command, out in runs(samples()[name]):
        words = shlex.split(command, comments=True)
        play = words[1]
        if play not in ("bootstrap", "deploy") or "error:" in " ".join(out):
            continue
        overrides = parse_overrides([w for i, w in enumerate(words) if words[i - 1] == "--set"])
        inventory = next((w for i, w in enumerate(words) if words[i - 1] == "--inventory"),
                         "inventory.yaml")  # fmt: skip
        given = next((w for i, w in enumerate(words) if words[i - 1] == "--app"), "")
        for app, part in by_app(out, given):
            shown = [m for line in part if (m := TASK.match(line))]
            for host in dict.fromkeys(m[1] for m in shown):
                on_host = [m for m in shown if m[1] == host]
                check_host(project(inventory), play, host, overrides, on_host, part, command, app)


def by_app(out, app):
    """The output's parts, app by app where a command went through several (``-- app
    NAME`` lines); one part, for ``app``, otherwise."""
    parts = [(app, [])]
    for line in out:
        if header := re.match(r"^-- app (\S+) \(", line):
            parts.append((header[1], []))
        else:
            parts[-1][1].append(line)
    return [(name, lines) for name, lines in parts if lines and (name or len(parts) == 1)]


def check_host(project, play, host, overrides, shown, out, command, app=""):
    """The task lines a sample shows for one host are the tasks the code runs there, in
    its order; and, where nothing is elided, all of them, as the host's recap counts."""
    tasks, handlers = expected_tasks(project, play, host, overrides, app)
    roles = [f"{m[3]}: {m[4]}" for m in shown if m[3] != "release"]
    # a phase, or a hook point's step ("before_check: release command")
    phases = [m[4].split(":")[0] for m in shown if m[3] == "release"]
    ran = [t for t in roles if t not in handlers]
    assert set(roles) - set(ran) <= handlers, (command, host, roles)
    flow = [p.name for p in DEPLOY]
    assert phases == [p for p in flow if p in phases], (command, host, phases)
    if "..." in out:  # elided: what it shows is in the code's order
        assert ran == [t for t in tasks if t in ran], (command, host, ran)
        return
    assert ran == tasks, (command, host, ran, tasks)
    [recap] = [line for line in out if line.startswith(f"{host} : ok=")]
    counts = [int(n) for n in re.findall(r"=(\d+)", recap)]
    assert sum(counts) == len(shown), (command, host, recap, len(shown))
