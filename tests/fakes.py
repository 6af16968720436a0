"""A scripted session for unit tests: command in, result out; no host, no SSH.

It understands the two shapes of script the engine sends (a batch of fact probes, and a
batch of commands with step markers), answers each probe or command by the first rule
whose text it contains, and records every command, so a test states what was sent.

Example::

    s = FakeSession([("systemctl is-active", Result(3, "", "")), ("readlink", "r1\\n")])
    ...
    assert s.commands[-1] == "systemctl reload hello"
"""

import io
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from provision.core import runner
from provision.core.facts import HostFacts
from provision.core.transport import Result, Target
from provision.release.layout import BAD, DONE, ROLLED_BACK, UNVERIFIED
from provision.release.supervised import EVENT  # the release job's event lines

# the runner's markers, as its scripts echo them
STEP = re.compile(rf"^echo {runner.STEP} (\d+) >&2\n", re.MULTILINE)
PROBE = re.compile(rf"^(pids=\nif facts=\$\(mktemp |\{{ echo {runner.FACT}-)")  # a runner.Probe's
FACT = re.compile(rf"^\{{ echo ({runner.FACT}-\w+); \( (.*?) \) 2>/dev/null; echo; echo \1\.; \}}"
                  r'( > "\$facts/\d+" & pids="\$pids \$!")?$', re.M | re.S)  # fmt: skip
BODY = re.compile(r"^s(\d+)\(\) \{ (.*?); \}\n(?=s\d+\(\) \{ |if run )", re.M | re.S)
RUN = re.compile(r"(run|beside) s(\d+) ('[^']*'|[^ ;]+)")


@dataclass
class Rule:
    pattern: str
    result: Result
    times: int | None = None  # how many times it answers; None: always


def rule(pattern, answer, times=None):
    """A rule from ``answer``: a Result, stdout text, or an int exit status."""
    if isinstance(answer, str):
        answer = Result(0, answer, "")
    elif isinstance(answer, int):
        answer = Result(answer, "", f"failed with {answer}")
    return Rule(pattern, answer, times)


class FakeChannel:
    """What ``start_as_root`` returns: prints ``output``, then exits with ``status``."""

    def __init__(self, output, status=0):
        self.output, self.status = output, status
        self.closed = False

    def makefile(self, mode):
        return io.StringIO(self.output)

    def makefile_stderr(self, mode):
        return io.BytesIO(b"") if "b" in mode else io.StringIO("")

    def recv_exit_status(self):
        return self.status

    def exit_status_ready(self):
        return True

    def shutdown_write(self):
        self.closed = True

    def close(self):
        self.closed = True


class FakeSession:
    def __init__(self, rules=(), channels=(), name="web1"):
        self.target = Target(name, "127.0.0.1")
        self.rules = [r if isinstance(r, Rule) else rule(*r) for r in rules]
        self.channels = list(channels)  # for start_as_root, in order; then: a lock taken
        self.commands = []  # every command and probe run, in order
        self.started = []  # scripts given to start_as_root
        self.stdin = {}  # command -> bytes it was given
        self.round_trips = 0

    def open(self):
        pass

    def close(self):
        pass

    def answer(self, command):
        self.commands.append(command)
        for r in self.rules:
            if r.pattern in command and r.times != 0:
                if r.times is not None:
                    r.times -= 1
                return r.result
        return Result(0, "", "")

    def run_as_root(self, text, stdin=None):
        self.round_trips += 1
        if PROBE.match(text):
            return Result(0, self.probe(text), "")
        if not STEP.search(text):
            return self.answer(text)
        # commands, then (``execute``'s ``then``) a probe of the facts the next tasks need
        text, _, then = text.partition("set +e\n")
        parts = STEP.split(text.removeprefix("set -e\n"))[1:]
        out, err = [], []
        for index, command in zip(parts[::2], parts[1::2], strict=True):
            command = command.removesuffix("\n")
            if stdin is not None and "tar -xzf" in command:
                self.stdin[command] = stdin
            result = self.answer(command)
            out.append(result.stdout)
            err.append(f"{runner.STEP} {index}\n{result.stderr}")
            if not result.ok:
                return Result(result.rc, "".join(out), "".join(err))
        return Result(0, "".join(out) + self.probe(then.removesuffix("true\n")), "")

    def probe(self, text):
        """What a batch of fact probes prints, each answered by the rules."""
        return "".join(f"{token}\n{self.answer(command).stdout}\n{token}.\n"
                       for token, command, _ in FACT.findall(text))  # fmt: skip

    def start_as_root(self, text):
        self.round_trips += 1
        self.started.append(text)
        if "systemd-run --unit=provision-" in text:
            return FakeChannel(self.job(text))
        return self.channels.pop(0) if self.channels else FakeChannel("locked\n")

    def job(self, text):
        """What a release job (``provision.release.supervised``) prints when the server answers
        its steps as the rules say: each step's body is one command here."""
        words = shlex.split(text)
        script = words[words.index("printf") + 2]
        bodies = dict(BODY.findall(script))
        main = next(line for line in script.splitlines() if line.startswith("if run "))
        steps, rest = main[3:].split("; then ", 1)
        done, rest = rest.split("; result=kept; else ", 1)
        printed = []

        def shown(name, result):
            printed.extend([f"{EVENT}begin {name}", result.stdout.rstrip("\n"),
                            result.stderr.rstrip("\n")])  # fmt: skip
            printed.append(f"{EVENT}end {name}" if result.ok else f"{EVENT}fail {name} {result.rc}")
            return result.ok

        def chain(part):
            """Each step of ``part`` in order, as ``&&`` would: one started beside the next
            is sent first, and shown once that next one ended."""
            beside = []
            for kind, i, name in RUN.findall(part):
                result = self.answer(bodies[i])
                if kind == "beside":
                    beside.append((shlex.split(name)[0], result))
                    continue
                ok = shown(shlex.split(name)[0], result)
                ok = all([shown(*b) for b in beside]) and ok
                beside = []
                if not ok:
                    return False
            return True

        if chain(steps):
            self.answer(done)
            outcome = "kept"
        else:
            failed, _, back = rest.partition("; if ")
            self.answer(failed.removesuffix("; result=stays"))
            if not back:
                outcome = "stays"
            else:
                went = chain(back.split("; then ")[0])
                outcome = "back" if went else "failed"
        printed.append(f"{EVENT}result {outcome}")
        return "".join(f"{line}\n" for line in printed if line)

    def sent(self, pattern):
        """The commands sent that contain ``pattern``."""
        return [c for c in self.commands if pattern in c]


# a server's facts, as HostInfo reads them: Debian 12, two cores, 2 GB
HOST = HostFacts(cpus=2, memory_mb=2048, os_id="debian", os_version="12",
                 os_codename="bookworm", arch="x86_64", hostname="web1")  # fmt: skip

CAPTURED = Path(__file__).parent / "unit" / "core" / "facts"  # commands' output, from a real host


def captured(name):
    """What a fact's or probe's command printed on a real host (``facts/<name>.txt``)."""
    return (CAPTURED / f"{name}.txt").read_text()


def parsed(fact, name):
    """``fact`` parsing what its command printed on a real host (``facts/<name>.txt``)."""
    return fact.parse(captured(name))


# the command of ``ReleaseState``: a rule's pattern for it
RELEASE_STATE = "find current releases venvs wheels"


def release_state(text):
    """What ``ReleaseState``'s command prints on a server described by ``text``: lines of
    ``current ID``, ``release ID BAD BACK NEW VENV`` (flags 0 or 1), ``venv ID``, and
    others as the command prints them (``content``, ``intent``, ``job``)."""
    marks = (BAD, ROLLED_BACK, UNVERIFIED)
    printed = []
    for line in text.splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "current":
            printed.append(f"current releases/{rest}")
        elif kind == "release":
            rid, *flags, venv = rest.split()
            printed += [f"mark releases/{rid} {DONE} ",
                        f"mark releases/{rid} venv ../../venvs/{venv}"]  # fmt: skip
            printed += [f"mark releases/{rid} {m} " for m, on in zip(marks, flags, strict=True)
                        if on == "1"]  # fmt: skip
        elif kind == "venv":
            printed.append(f"venv venvs/{rest}")
        else:
            printed.append(line)
    return "".join(f"{line}\n" for line in printed)
