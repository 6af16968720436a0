"""The part of a release that must finish even if the operator's process dies: a job on
the server.

From the switch on, a release is either verified and kept, or it failed and the one
before goes back: that decision cannot wait for a laptop that closed its lid. So the
switch, the reload, the verify and, when they fail, the way back run on the server as one
transient systemd unit, which the operator's process starts and follows (its output is
a file the deploy reads as it grows). When nobody follows any more, the job still ends
on its own, and notes in the deploy history that its run was interrupted, with what it
decided.

The job is a shell script made of the phases' own ``Command``s. A step may run beside the
next one (the workers' restart beside the verify): started in the background, waited
for once that step ended, its output then printed in one piece. What the job prints is
the steps' output between event lines::

    @@ begin switch
    @@ end switch
    @@ begin verify
    ...what the health check printed...
    @@ fail verify 1
    @@ result back

Example::

    job = Job(service, [Step("switch", cmds), ...], back=[Step("rollback", ...)], ...)
    session.start_as_root(job.start())   # then ``Follow`` reads the events
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from provision.core.command import Command, Shell, sh
from provision.core.runner import TaskFailed

EVENT = "@@ "
FILES = "/run/lock/provision-{service}.job"  # .log: its output; .lock: held while it runs
PID = Shell('"$pid"')  # in a step after ``reload``: the process that serves, as it said
SHOWN = 15  # lines of a failed step's output in its error


@dataclass(frozen=True)
class Step:
    """A named part of the job: its commands run in order, the first failure fails it."""

    name: str
    commands: tuple[Command, ...]
    says_pid: bool = False  # prints ``pid N``: later steps read it as ``PID``
    beside: bool = False  # runs in the background beside the next step, which waits for it

    def label(self) -> str:
        return "; ".join(c.display() for c in self.commands)


def unit(service: str) -> str:
    """A new name for a release job of ``service``'s unit: one of its own each time, as
    systemd may keep the unit of the job before loaded a while after it ended."""
    return f"provision-{service}-release-{secrets.token_hex(4)}"


def job_log(service: str) -> str:
    """The file the job of ``service`` appends its output to."""
    return f"{FILES.format(service=service)}.log"


@dataclass(frozen=True)
class Job:
    """``steps`` in order; when one fails, ``back`` (going back to the release before, if
    any) and ``failed`` (marking the new one bad). ``done``: once every step passed.
    ``gone``: when the job ends and the operator's process is no longer there (its lock
    holder, ``holder``, gone): commands by result (``kept``, ``back``, ``stays``) that
    note the interrupted run; and, when it went back, ``gone_back`` first: the steps the
    operator's process would have run after going back."""

    service: str
    steps: Sequence[Step]
    back: Sequence[Step] = ()
    failed: Sequence[Command] = ()
    done: Sequence[Command] = ()
    holder: str = ""  # the deploy lock's info file: its third line is the holder's pid
    gone: dict[str, Command] | None = None
    gone_back: Sequence[Step] = ()

    @property
    def files(self) -> str:
        return FILES.format(service=self.service)

    def script(self) -> str:
        """The job itself, as ``sh`` runs it in its unit."""
        log, lock = f"{self.files}.log", f"{self.files}.lock"
        lines = [
            sh("exec >>{log} 2>&1 9>>{lock}; flock 9 || exit 1", log=log, lock=lock),
            "pid=''; waits=''",
            'run() { echo "@@ begin $2"; "$1"; rc=$?; if [ $rc -eq 0 ]; then echo "@@ end $2"; '
            'return 0; fi; echo "@@ fail $2 $rc"; return 1; }',
        ]
        steps = [*self.steps, *self.back, *self.gone_back]
        if any(step.beside for step in steps):
            out = f"{self.files}.out"  # a step's output while it runs beside another
            lines += [
                sh('beside() {{ (run "$1" "$2") > {out}."$1" 2>&1 & waits="$waits $!:$1"; }}',
                   out=out),
                sh('joined() {{ rc=$1; for w in $waits; do wait "${{w%%:*}}" || rc=1; '
                   'cat {out}."${{w#*:}}"; rm -f {out}."${{w#*:}}"; done; waits=""; '
                   "return $rc; }}", out=out),
            ]  # fmt: skip
        for i, step in enumerate(steps):
            body = " && ".join(c.render() for c in step.commands) or "true"
            if step.says_pid:
                body = (f'said=$({body}); rc=$?; printf "%s\\n" "$said"; pid=$(printf '
                        "'%s\\n' \"$said\" | sed -n 's/^pid //p'); return $rc")  # fmt: skip
            lines.append(f"s{i}() {{ {body}; }}")

        def chain(first: int, part: Sequence[Step]) -> str:
            calls, waiting = [], False  # waiting: for steps started beside this one
            for n, s in enumerate(part):
                call = sh("beside s{i} {name}" if s.beside else "run s{i} {name}", i=first + n,
                          name=s.name)  # fmt: skip
                calls.append(f"{{ {call}; joined $?; }}" if waiting and not s.beside else call)
                waiting = s.beside
            return " && ".join(calls + ["joined 0"] * waiting)

        done = " && ".join(c.render() for c in self.done) or "true"
        failed = "; ".join(c.render() for c in self.failed) or "true"
        if self.back:
            after = (f"{failed}; if {chain(len(self.steps), self.back)}; then result=back; "
                     "else result=failed; fi")  # fmt: skip
        else:
            after = f"{failed}; result=stays"
        lines.append(f"if {chain(0, self.steps)}; then {done}; result=kept; else {after}; fi")
        if self.gone:
            holder = sh("$(sed -n 3p {info} 2>/dev/null)", info=self.holder)
            back = len(self.steps) + len(self.back)
            first = {"back": f"{chain(back, self.gone_back)}; "} if self.gone_back else {}
            cases = " ".join(f"{k}) {first.get(k, '')}{c.render()} ;;"
                             for k, c in self.gone.items())  # fmt: skip
            lines.append(f'h={holder}; if [ -z "$h" ] || ! kill -0 "$h" 2>/dev/null; then '
                         f'case $result in {cases} esac; fi')  # fmt: skip
        lines.append('echo "@@ result $result"')
        return "\n".join(lines) + "\n"

    def start(self) -> str:
        """Start the job in a unit of its own, then follow its output until it ends
        (what the operator's process runs; killing it leaves the job running). The script
        goes to a file: systemd would expand ``$`` in a command line it is given. The log
        is made empty before the job starts, so that the follower finds it even when it
        looks before the job's shell has opened it (a busy server)."""
        name, log = unit(self.service), f"{self.files}.log"
        return sh(
            ": > {log}; printf '%s' {script} > {file} && "
            "systemd-run --unit={unit} --collect --quiet --service-type=exec "
            "-p Description={what} /bin/sh {file} || exit 1; "
            "pid=$(systemctl show -P MainPID {unit} 2>/dev/null); "
            'if [ "${{pid:-0}}" -gt 0 ]; then exec tail -n +1 -s 0.1 -f --pid="$pid" {log}; fi; '
            "cat {log}",
            log=log, unit=name, what=f"provision: the release of {self.service}",
            script=self.script(), file=f"{self.files}.sh",
        )  # fmt: skip

    def labels(self) -> dict[str, str]:
        return {s.name: s.label() for s in [*self.steps, *self.back]}


def wait_for(service: str, timeout: float) -> Command:
    """Wait until no release job of ``service`` runs (one the last, dead deploy left)."""
    files = FILES.format(service=service)
    return Command.script(
        "flock -w {timeout} {lock} true",
        timeout=timeout, lock=f"{files}.lock",
        label=f"wait for the release job of {service} to end",
    )  # fmt: skip


class Follow:
    """The events of a running job, read from its output as it comes.

    ``step(name)`` returns once the step ``name`` ended well (its output lines), or raises
    ``TaskFailed`` with what it printed, as a command run directly would.
    """

    def __init__(
        self, lines: Iterator[str], labels: dict[str, str], why: Callable[[], str] = str
    ) -> None:
        self.lines = lines
        self.labels = labels
        self.why = why  # what the job's start said on stderr, read once its output ended
        self.said: str | None = None
        self.result = ""

    def step(self, name: str) -> list[str]:
        printed: list[str] = []
        for raw in self.lines:
            line = raw.rstrip("\n")
            if not line.startswith(EVENT):
                printed.append(line)
                continue
            kind, _, rest = line[len(EVENT) :].partition(" ")
            if kind == "begin":
                printed = []
            elif kind == "end" and rest == name:
                return printed
            elif kind == "fail" and rest.rsplit(" ", 1)[0] == name:
                rc = rest.rsplit(" ", 1)[1]
                tail = "\n".join(printed[-SHOWN:]).strip() or "(no output)"
                raise TaskFailed(f"`{self.labels.get(name, name)}` exited {rc}:\n{tail}", printed)
            elif kind == "result":
                self.result = rest
                raise TaskFailed(f"the release job ended ({rest}) before {name}", printed)
        if self.said is None:
            self.said = self.why().strip()  # read once: a later step says it too
        raise TaskFailed(f"the release job's output ended before {name}"
                         + (f": {self.said}" if self.said else "")
                         + " (see: journalctl -u 'provision-*-release-*')")  # fmt: skip

    def outcome(self) -> str:
        """The job's result, once its last step was read: its last line says it, so it is
        taken there, not once the follower on the server sees the job gone (up to its
        0.1 s poll later)."""
        if self.result:
            return self.result
        for raw in self.lines:
            line = raw.rstrip("\n")
            if line.startswith(f"{EVENT}result "):
                self.result = line.split(" ", 2)[2]
                break
        return self.result
