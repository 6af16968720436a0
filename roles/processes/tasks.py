"""The app's background processes (app_processes) and scheduled jobs (app_schedule):
systemd services and timers that run commands in the live release, restarted onto each
new release once the web app serves it."""

import re

from provision.api import (
    RUN_IN_RELEASE,
    Command,
    Hooks,
    Layout,
    LogSource,
    SchemaError,
    ServiceProbe,
    Shape,
    Step,
    Succeeds,
    TimerProbe,
    files,
    only_if,
    sh,
    shaped_each,
    systemd,
)

from . import containers as road

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
SIGNAL = re.compile(r"^SIG[A-Z0-9+]+$")
TAKEN = ("web", "nginx-access", "nginx-error", "postgres", "backup")  # other logs' names
LAUNCHER = "/usr/local/lib/provision/run_in_release.py"


class Process(Shape):
    """One of app_processes: a command run as a service, restarted whenever it exits."""

    command: str
    stop_signal: str = "SIGTERM"
    stop_timeout: float | None = None  # None: app_process_stop_timeout

    def __post_init__(self):
        one_line(self.command)
        if not SIGNAL.match(self.stop_signal):
            raise ValueError(f"stop_signal: a signal's name, SIGTERM say; got {self.stop_signal!r}")
        if self.stop_timeout is not None and self.stop_timeout <= 0:
            raise ValueError(f"stop_timeout: a number of seconds, above 0; got {self.stop_timeout}")


class Job(Shape):
    """One of app_schedule: a command run at each time of its calendar."""

    command: str
    on_calendar: str = ""
    timeout: float = 0  # 0: no limit
    cron: str = ""  # its schedule on Kubernetes, where on_calendar has no cron form

    def __post_init__(self):
        one_line(self.command)
        if not self.on_calendar.strip() or "\n" in self.on_calendar:
            raise ValueError('on_calendar: a systemd calendar expression ("daily", "*:0/15")')
        if self.timeout < 0:
            raise ValueError(f"timeout: a number of seconds, 0 or more; got {self.timeout}")


def one_line(command):
    if not command.strip() or "\n" in command:
        raise ValueError("command: a shell command line, on one line")


def check(v, root):
    """Names, commands, signals and calendars, before any connection."""
    seen = {}
    for key, entries in (("app_processes", processes(v)), ("app_schedule", jobs(v))):
        for name in entries:
            if not NAME.match(str(name)) or name in TAKEN:
                why = (f"{name} is the name of another log" if name in TAKEN
                       else "a name is lowercase letters, digits, - and _ (up to 40)")  # fmt: skip
                raise SchemaError(key, f"{name}: {why}")
            if name in seen:
                raise SchemaError(key, f"{name}: also in {seen[name]}; one name, one log")
            seen[name] = key


def processes(v):
    """name -> its Process (a bare command line is one with the default stop)."""
    given = v["app_processes"]
    if isinstance(given, dict):
        given = {name: {"command": e} if isinstance(e, str) else e for name, e in given.items()}
    return shaped_each("app_processes", given, Process)


def jobs(v):
    """name -> its Job."""
    return shaped_each("app_schedule", v["app_schedule"], Job)


def containers(role):
    """The processes and jobs on the container road (see containers.py)."""
    return road.parts(role.vars, processes(role.vars), jobs(role.vars))


def unit(v, name):
    return f"{v['app_name']}-process-{name}.service"


def job_unit(v, name):
    return f"{v['app_name']}-job-{name}"


def sandbox(v):
    """The sandbox directives the web service has too (settings of roles/app)."""
    writable = [f"{v['app_root']}/shared", *map(str, v["app_writable_paths"])]
    return systemd.directives(
        v["app_sandbox"], v["app_sandbox_changes"], ReadWritePaths=" ".join(writable)
    )


def systemd_quote(text):
    """One ExecStart argument: quoted, with systemd's own expansions ($, %) escaped."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("%", "%%").replace("$", "$$") + '"'


def exec_start(v, command):
    root = v["app_root"]
    args = [f"{root}/shared/.env", root, f"{root}/current", command]
    return " ".join(["/usr/bin/python3", "-I", LAUNCHER, *map(systemd_quote, args)])


def tasks(role):
    v = role.vars
    app, live = v["app_name"], Succeeds(sh("test -e {path}", path=Layout(v["app_root"]).current))
    if v["app_processes"] or v["app_schedule"]:
        yield files.directory("/usr/local/lib/provision", mode=0o755)
        yield files.file(LAUNCHER, RUN_IN_RELEASE, mode=0o644)
    for name, process in processes(v).items():
        service = unit(v, name)
        timeout = (
            v["app_process_stop_timeout"] if process.stop_timeout is None else process.stop_timeout
        )
        text = role.template("process.service.j2", process=name, sandbox=sandbox(v),
                             exec_start=exec_start(v, process.command),
                             stop_signal=process.stop_signal, stop_timeout=timeout)  # fmt: skip
        yield files.file(f"{systemd.UNITS}/{service}", text,
                         notify=["daemon-reload", f"restart {service}"])  # fmt: skip
        # enabled at once (it waits for a release: ConditionPathExists); started by the
        # deploy that makes the first release live, or here after that
        yield systemd.service(service, running=None, enabled=True)
        yield only_if(systemd.service(service, running=True), live, "no release is live yet")
    yield systemd.units_absent(f"{app}-process-*", [unit(v, n) for n in processes(v)],
                               "processes")  # fmt: skip
    for name, job in jobs(v).items():
        base = job_unit(v, name)
        run = exec_start(v, job.command)
        service = role.template("job.service.j2", process=name, sandbox=sandbox(v),
                                exec_start=run, timeout=job.timeout)  # fmt: skip
        yield files.file(f"{systemd.UNITS}/{base}.service", service, notify="daemon-reload")
        timer = role.template("job.timer.j2", process=name, on_calendar=job.on_calendar)
        yield files.file(f"{systemd.UNITS}/{base}.timer", timer,
                         notify=["daemon-reload", f"restart {base}.timer"])  # fmt: skip
        yield systemd.service(f"{base}.timer", running=True, enabled=True)
    kept = [f"{job_unit(v, n)}.{kind}" for n in jobs(v) for kind in ("service", "timer")]
    yield systemd.units_absent(f"{app}-job-*", kept, "scheduled jobs")


def remove(role, data):
    """The app's processes and scheduled jobs: stopped, disabled, their units removed."""
    app = role.vars["app_name"]
    yield systemd.units_absent(f"{app}-process-*", [], "processes")
    yield systemd.units_absent(f"{app}-job-*", [], "scheduled jobs")


def handlers(role):
    v = role.vars
    units = [unit(v, name) for name in processes(v)]
    units += [f"{job_unit(v, name)}.timer" for name in jobs(v)]
    return {"daemon-reload": systemd.daemon_reload(),
            **{f"restart {unit}": systemd.try_restart(unit) for unit in units}}  # fmt: skip


def logs(role):
    v = role.vars
    found = {name: LogSource(unit=unit(v, name)) for name in processes(v)}
    return {**found, **{name: LogSource(unit=f"{job_unit(v, name)}.service") for name in jobs(v)}}


def status(role):
    """Each process's service, each job's last and next run."""
    v = role.vars
    found = {name: ServiceProbe(unit(v, name)) for name in processes(v)}
    return {**found, **{name: TimerProbe(job_unit(v, name)) for name in jobs(v)}}


def restart_step(v, script):
    """The step that restarts the processes, ``script`` (files/restart.py) watching them."""
    units = [unit(v, name) for name in processes(v)]
    settle = str(v["app_process_settle"])

    def commands(ctx):
        label = f"systemctl restart {' '.join(units)} (each must stay up)"
        return [Command.of("python3", "-I", "-c", script, settle, *units, label=label)]

    return Step("restart processes", commands)


def release(role):
    """Processes restart onto the release that goes live, at the same time as its verify
    (the release is kept once both passed), and onto the release gone back to."""
    v = role.vars
    if not v["app_processes"]:
        return None
    step = restart_step(v, role.file("restart.py"))
    return Hooks({"with_verify": [step], "after_rollback": [step]})
