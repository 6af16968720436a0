"""Background processes and scheduled jobs (roles/processes): the units they become, the
restart a deploy runs, and the settings refused before any connection."""

import subprocess

import pytest

from provision.project.inventory import InventoryError
from provision.project.schema import SchemaError
from provision.release.layout import Layout
from provision.release.plan import HookContext
from tests.fleet import context, on_server, preflight
from tests.helpers import with_programs

WORKER = {"worker": {"command": "arq app.worker.WorkerSettings", "stop_signal": "SIGINT",
                     "stop_timeout": 120}}  # fmt: skip
SCHEDULE = {
    "cleanup": {"command": "python -m app.cleanup --older-than 30%", "on_calendar": "daily"}
}


def files(ctx):
    """{path: text} of the files the role writes."""
    return {op.name.removeprefix("file "): op for op in ctx.tasks() if op.name.startswith("file ")}


def test_a_process_is_a_service_in_the_live_release_with_its_stop_signal_and_timeout(fleet):
    ctx = context(fleet, "processes", "solo", app_processes=WORKER)
    unit = ctx.template("process.service.j2", process="worker", stop_signal="SIGINT",
                        sandbox=ctx.role.module.sandbox(ctx.vars),
                        stop_timeout=120, exec_start=ctx.role.module.exec_start(
                            ctx.vars, WORKER["worker"]["command"]))  # fmt: skip
    assert "ExecStart=/usr/bin/python3 -I /usr/local/lib/provision/run_in_release.py " \
           '"/srv/hello/shared/.env" "/srv/hello" "/srv/hello/current" ' \
           '"arq app.worker.WorkerSettings"\n' in unit  # fmt: skip
    for line in (
        "User=app",
        "KillSignal=SIGINT",
        "TimeoutStopSec=120",
        "Restart=always",
        "ConditionPathExists=/srv/hello/current",
        "SyslogIdentifier=hello-worker",
    ):
        assert f"\n{line}\n" in unit, line
    names = [op.name for op in ctx.tasks()]
    assert "file /etc/systemd/system/hello-process-worker.service" in names
    assert names[-2:] == ["processes", "scheduled jobs"]  # the units no longer asked removed


@pytest.mark.parametrize("text, quoted", [
    ('python -c "print(1)"', '"python -c \\"print(1)\\""'),
    ("echo $HOME 100%", '"echo $$HOME 100%%"'),
    ("a\\b", '"a\\\\b"'),
])  # fmt: skip
def test_a_command_reaches_the_shell_as_written(fleet, text, quoted):
    ctx = context(fleet, "processes", "solo")
    assert ctx.role.module.systemd_quote(text) == quoted


def test_a_job_is_a_timer_and_a_oneshot_service_never_rate_limited(fleet):
    ctx = context(fleet, "processes", "solo", app_schedule=SCHEDULE)
    timer = ctx.template("job.timer.j2", process="cleanup", on_calendar="daily")
    assert "\nOnCalendar=daily\n" in timer and "\nPersistent=true\n" in timer
    service = ctx.template(
        "job.service.j2",
        process="cleanup",
        exec_start="x",
        timeout=0,
        sandbox=ctx.role.module.sandbox(ctx.vars),
    )
    for line in ("Type=oneshot", "StartLimitIntervalSec=0", "TimeoutStartSec=infinity"):
        assert f"\n{line}\n" in service, line
    names = [op.name for op in ctx.tasks()]
    assert "service hello-job-cleanup.timer" in names
    logs = ctx.role.module.logs(ctx)
    assert logs["cleanup"].unit == "hello-job-cleanup.service"


def test_a_deploy_restarts_the_processes_beside_the_verify_and_after_a_rollback(fleet):
    ctx = context(fleet, "processes", "solo", app_processes=WORKER,
                  app_process_settle=4)  # fmt: skip
    hooks = ctx.role.module.release(ctx).steps
    assert set(hooks) == {"with_verify", "after_rollback"}
    [step] = hooks["with_verify"]
    assert hooks["after_rollback"] == [step]
    [command] = step.commands(HookContext(Layout("/srv/hello"), "r2", "r1"))
    assert command.display() == "systemctl restart hello-process-worker.service (each must stay up)"
    script = ctx.role.path / "files" / "restart.py"
    assert command.parts == ("python3", "-I", "-c", script.read_text(), "4",
                             "hello-process-worker.service")  # fmt: skip


def test_no_processes_no_steps_and_a_balancer_runs_none(fleet):
    assert fleet.roles["processes"].module.release(context(fleet, "processes", "solo")) is None
    lb = on_server(fleet, "lb", app_processes=WORKER, app_schedule=SCHEDULE)
    assert "processes" not in [ctx.role.name for ctx in lb]


@pytest.mark.parametrize("setting, value, error", [
    ("app_processes", {"Worker": "x"}, "app_processes: Worker: a name is lowercase letters"),
    ("app_processes", {"web": "x"}, "app_processes: web: web is the name of another log"),
    ("app_processes", {"w": {"comand": "x"}}, "app_processes: w: unknown key 'comand'; did you "
                                              "mean 'command'?"),
    ("app_processes", {"w": {"command": "x", "stop_signal": "TERM"}},
     "app_processes: w: stop_signal: a signal's name, SIGTERM say; got 'TERM'"),
    ("app_processes", {"w": {"command": "x", "stop_timeout": 0}},
     "app_processes: w: stop_timeout: a number of seconds, above 0; got 0"),
    ("app_processes", {"w": ""}, "app_processes: w: command: a shell command line, on one line"),
    ("app_schedule", {"j": {"command": "x"}}, "app_schedule: j: on_calendar: a systemd calendar"),
    ("app_schedule", {"worker": {"command": "x", "on_calendar": "daily"}},
     "app_schedule: worker: also in app_processes"),
    ("app_processes", {"w": {"command": "x", "stop_timeout": True}},
     "app_processes: w: stop_timeout: expected a number or nothing, got a boolean"),
    ("app_processes", {"w": 5}, "app_processes: w: expected a mapping, got an integer"),
    ("app_schedule", ["cleanup"], "app_schedule: expected a mapping, got a list"),
    ("app_schedule", {"j": {"command": "x", "on_calendar": "daily", "timeout": "1h"}},
     "app_schedule: j: timeout: expected a number, got a string"),
])  # fmt: skip
def test_settings_are_checked_before_connecting(fleet, setting, value, error):
    changes = {"app_processes": WORKER, setting: value}
    with pytest.raises(InventoryError) as e:
        preflight(fleet, "solo", **changes)
    assert str(e.value).startswith(f"--set {error}"), str(e.value)


def test_the_sandbox_is_changed_per_app(fleet):
    changes = {"MemoryDenyWriteExecute": None, "UMask": "0077"}
    ctx = context(fleet, "processes", "solo", app_writable_paths=["/run/hello"],
                  app_sandbox_changes=changes)  # fmt: skip
    text = ctx.role.module.sandbox(ctx.vars)
    assert "MemoryDenyWriteExecute" not in text and "\nUMask=0077\n" in text
    assert text.endswith("ReadWritePaths=/srv/hello/shared /run/hello\n")


def test_a_process_starts_only_once_a_release_is_live_whatever_the_apps_path(fleet):
    ctx = context(fleet, "processes", "solo", app_processes=WORKER,
                  app_root="/srv/my app")  # fmt: skip
    [guard] = [op.facts["_when"] for op in ctx.tasks() if "_when" in op.facts]
    assert guard.test == "test -e '/srv/my app/current'"


@pytest.mark.parametrize(
    "calendar, cron",
    [
        ("daily", "0 0 * * *"),
        ("hourly", "0 * * * *"),
        ("weekly", "0 0 * * 1"),
        ("*-*-* 03:15:00", "15 3 * * *"),
        ("04:00", "0 4 * * *"),
        ("*:0/15", "*/15 * * * *"),
        ("Mon *-*-* 04:00", "0 4 * * 1"),
        ("Mon..Fri 08:30", "30 8 * * 1-5"),
        ("Sat,Sun *-*-* 12:00:00", "0 12 * * 6,0"),
    ],
)
def test_a_calendar_s_cron_form_for_kubernetes(calendar, cron):
    from roles.processes.calendar import cron as cron_of

    assert cron_of(calendar) == cron


def test_a_calendar_without_a_cron_form_asks_for_the_job_s_cron(fleet):
    from roles.processes import tasks

    job = {"command": "x", "on_calendar": "*-*-01 04:00"}
    ctx = context(fleet, "processes", "solo", app_schedule={"monthly-report": job})
    ctx.vars["container_image_ref"] = "a:1"
    with pytest.raises(SchemaError, match=r"monthly-report: on_calendar '\*-\*-01 04:00' has "
                       "no cron form here: give the job's cron too"):  # fmt: skip
        tasks.containers(ctx)
    ctx.vars["app_schedule"] = {"monthly-report": {**job, "cron": "0 4 1 * *"}}
    [cronjob] = tasks.containers(ctx).kube
    assert cronjob["spec"]["schedule"] == "0 4 1 * *"


def test_a_process_that_did_not_stay_up_is_named_last_after_its_journal(fleet, tmp_path):
    script = (fleet.roles["processes"].path / "files" / "restart.py").read_text()
    assert script.endswith("\nmain()\n")
    journal = 'for i in $(seq 40); do echo "journal line $i"; done'
    env = with_programs(tmp_path, journalctl=journal,
                        systemctl="echo ActiveState=activating; echo Result=exit-code")  # fmt: skip
    failing = script.removesuffix("main()\n") + "failed('hello-process-crash.service', 0)\n"
    done = subprocess.run(["python3", "-I", "-c", failing], capture_output=True, text=True,
                          env=env)  # fmt: skip
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    # the error shows the last lines of a step's output: the verdict is among them
    assert lines[-1] == ("hello-process-crash.service did not stay up: Result=exit-code "
                         "ActiveState=activating")  # fmt: skip
    assert lines[:-1] == [f"journal line {i}" for i in range(1, 41)]
