"""The app's processes and scheduled jobs on the container road: a compose service and a
Kubernetes Deployment for each process, a CronJob for each job (compose runs no
schedule)."""

from provision.api import Containers, SchemaError, kube

from .calendar import cron


def parts(v, processes, jobs):
    """The role's part, for ``processes`` and ``jobs`` (name -> Process, name -> Job)."""
    image_ref, services, objects = v["container_image_ref"], {}, []
    for name, process in processes.items():
        timeout = process.stop_timeout or v["app_process_stop_timeout"]
        services[name] = {"image": image_ref, "command": ["sh", "-c", process.command],
                          "restart": "unless-stopped", "stop_signal": process.stop_signal,
                          "stop_grace_period": f"{timeout:g}s"}  # fmt: skip
        objects.append(workload(v, name, process.command, timeout).deployment(1))
    for name, job in jobs.items():
        try:
            schedule = job.cron or cron(job.on_calendar)
        except ValueError as e:
            raise SchemaError("app_schedule", f"{name}: {e}") from e
        objects.append(workload(v, name, job.command).cron_job(schedule, job.timeout))
    notes = [f"compose: runs no schedule: {', '.join(jobs)} left out"] if jobs else []
    return Containers(compose={"services": services} if services else {}, kube=objects,
                      notes=notes)  # fmt: skip


def workload(v, name, command, grace=30):
    return kube.Workload(v["app_name"], name, v["container_image_ref"], ["sh", "-c", command],
                         dict(v["kube_requests"]), dict(v["kube_limits"]),
                         grace_seconds=int(grace))  # fmt: skip
