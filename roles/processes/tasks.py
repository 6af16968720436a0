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
    Step,
    Succeeds,
    TimerProbe,
    closest,
    files,
    is_number,
    only_if,
    sh,
    systemd,
)

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
SIGNAL = re.compile(r"^SIG[A-Z0-9+]+$")
TAKEN = ("web", "nginx-access", "nginx-error", "postgres", "backup")  # other logs' names
LAUNCHER = "/usr/local/lib/provision/run_in_release.py"
KEYS = {"app_processes": {"command", "stop_signal", "stop_timeout"},
        "app_schedule": {"command", "on_calendar", "timeout"}}  # fmt: skip


def check(v, root):
    """Names, commands, signals and calendars, before any connection."""
    seen = {}
    for key in ("app_processes", "app_schedule"):
        for name, entry in v[key].items():
            if not NAME.match(str(name)) or name in TAKEN:
                why = (
                    f"{name} is the name of another log"
                    if name in TAKEN
                    else ("a name is lowercase letters, digits, - and _ (up to 40)")
                )
                raise SchemaError(key, f"{name}: {why}")
            if name in seen:
                raise SchemaError(key, f"{name}: also in {seen[name]}; one name, one log")
            seen[name] = key
            if fault := entry_fault(key, entry):
                raise SchemaError(key, f"{name}: {fault}")


def entry_fault(key, entry):
    """Why one entry of ``key`` cannot be run, or ""."""
    if key == "app_processes" and isinstance(entry, str):
        entry = {"command": entry}
    if not isinstance(entry, dict):
        return "expected {command: ..., on_calendar: ...}"
    for extra in set(entry) - KEYS[key]:
        return f"unknown key {extra!r}{closest(extra, KEYS[key])}"
    command = entry.get("command")
    if not isinstance(command, str) or not command.strip() or "\n" in command:
        return "command: a shell command line, on one line"
    if key == "app_schedule":
        calendar = entry.get("on_calendar")
        if not isinstance(calendar, str) or not calendar.strip() or "\n" in calendar:
            return 'on_calendar: a systemd calendar expression ("daily", "*:0/15")'
        return _number(entry.get("timeout", 0), "timeout", zero=True)
    if not SIGNAL.match(str(entry.get("stop_signal", "SIGTERM"))):
        return f"stop_signal: a signal's name, SIGTERM say; got {entry['stop_signal']!r}"
    return _number(entry.get("stop_timeout", 1), "stop_timeout")


def _number(value, what, zero=False):
    if is_number(value) and (value > 0 or (zero and value == 0)):
        return ""
    return f"{what}: a number of seconds, {'0 or more' if zero else 'above 0'}; got {value!r}"


def processes(v):
    """name -> (unit, command, stop signal, stop timeout)."""
    found = {}
    for name, entry in v["app_processes"].items():
        entry = {"command": entry} if isinstance(entry, str) else entry
        found[name] = (f"{v['app_name']}-process-{name}.service", entry["command"],
                       entry.get("stop_signal", "SIGTERM"),
                       entry.get("stop_timeout", v["app_process_stop_timeout"]))  # fmt: skip
    return found


def jobs(v):
    """name -> (unit without its suffix, entry)."""
    app = v["app_name"]
    return {name: (f"{app}-job-{name}", entry) for name, entry in v["app_schedule"].items()}


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
    if v["serves"] == "balancer":
        return
    app, live = v["app_name"], Succeeds(sh("test -e {path}", path=Layout(v["app_root"]).current))
    if v["app_processes"] or v["app_schedule"]:
        yield files.directory("/usr/local/lib/provision", mode=0o755)
        yield files.file(LAUNCHER, RUN_IN_RELEASE, mode=0o644)
    for name, (unit, command, signal, timeout) in processes(v).items():
        run = exec_start(v, command)
        text = role.template("process.service.j2", process=name, exec_start=run, sandbox=sandbox(v),
                             stop_signal=signal, stop_timeout=timeout)  # fmt: skip
        yield files.file(f"{systemd.UNITS}/{unit}", text,
                         notify=["daemon-reload", f"restart {unit}"])  # fmt: skip
        # enabled at once (it waits for a release: ConditionPathExists); started by the
        # deploy that makes the first release live, or here after that
        yield systemd.service(unit, running=None, enabled=True)
        yield only_if(systemd.service(unit, running=True), live, "no release is live yet")
    yield systemd.units_absent(f"{app}-process-*", [p[0] for p in processes(v).values()],
                               "processes")  # fmt: skip
    for name, (unit, entry) in jobs(v).items():
        run = exec_start(v, entry["command"])
        service = role.template("job.service.j2", process=name, exec_start=run,
                                timeout=entry.get("timeout", 0), sandbox=sandbox(v))  # fmt: skip
        yield files.file(f"{systemd.UNITS}/{unit}.service", service, notify="daemon-reload")
        timer = role.template("job.timer.j2", process=name, on_calendar=entry["on_calendar"])
        yield files.file(f"{systemd.UNITS}/{unit}.timer", timer,
                         notify=["daemon-reload", f"restart {unit}.timer"])  # fmt: skip
        yield systemd.service(f"{unit}.timer", running=True, enabled=True)
    kept = [f"{unit}.{kind}" for unit, _ in jobs(v).values() for kind in ("service", "timer")]
    yield systemd.units_absent(f"{app}-job-*", kept, "scheduled jobs")


def handlers(role):
    units = [p[0] for p in processes(role.vars).values()]
    units += [f"{unit}.timer" for unit, _ in jobs(role.vars).values()]
    return {"daemon-reload": systemd.daemon_reload(),
            **{f"restart {unit}": systemd.try_restart(unit) for unit in units}}  # fmt: skip


def logs(role):
    v = role.vars
    if v["serves"] == "balancer":
        return {}
    found = {name: LogSource(unit=p[0]) for name, p in processes(v).items()}
    return {**found, **{name: LogSource(unit=f"{unit}.service") for name, (unit, _) in
                        jobs(v).items()}}  # fmt: skip


def status(role):
    """Each process's service, each job's last and next run."""
    v = role.vars
    if v["serves"] == "balancer":
        return {}
    found = {name: ServiceProbe(p[0]) for name, p in processes(v).items()}
    return {**found, **{name: TimerProbe(unit) for name, (unit, _) in jobs(v).items()}}


# Restarts the units given, then watches them for SETTLE seconds: each must stay active
# with the process it started with. One that does not fails, with its log since then.
RESTART = """
start=$(date +%s)
kept=""
for unit in "$@"; do
  if [ -e "/etc/systemd/system/$unit" ]; then kept="$kept $unit"; else
    systemctl stop "$unit" 2>/dev/null; echo "$unit: stopped (its unit file is gone)"; fi
done
set -- $kept
[ $# -eq 0 ] && exit 0
systemctl restart "$@" || true
up=$(date +%s)
first=""
for unit in "$@"; do first="$first $unit=$(systemctl show -p MainPID --value "$unit")"; done
while :; do
  for pair in $first; do
    unit=${pair%=*}; pid=${pair##*=}
    if [ "$pid" = 0 ] || [ "$(systemctl show -p MainPID --value "$unit")" != "$pid" ] \\
        || [ "$(systemctl show -p ActiveState --value "$unit")" != active ]; then
      state=$(systemctl show -p ActiveState -p Result "$unit" | tr '\\n' ' ')
      echo "$unit did not stay up: $state"
      journalctl -u "$unit" --since "@$start" -n 30 --no-pager -o cat
      exit 1
    fi
  done
  [ $(( $(date +%s) - up )) -ge SETTLE ] && break
  sleep 0.2
done
for pair in $first; do echo "${pair%=*}: running, pid ${pair##*=}"; done
"""


def restart_step(v):
    units = [p[0] for p in processes(v).values()]

    def commands(ctx):
        script = RESTART.replace("SETTLE", str(int(v["app_process_settle"])))
        label = f"systemctl restart {' '.join(units)} (each must stay up)"
        return [Command.script("sh -c {script} restart {units}", script=script,
                               units=Command.of(*units), label=label)]  # fmt: skip

    return Step("restart processes", commands)


def release(role):
    """Processes restart onto the release that went live (or was gone back to)."""
    v = role.vars
    if v["serves"] == "balancer" or not v["app_processes"]:
        return None
    step = restart_step(v)
    return Hooks({"after_verify": [step], "after_rollback": [step]})
