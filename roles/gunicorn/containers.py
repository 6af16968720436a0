"""The app on the container road: its image (gunicorn configured as on the servers), the
compose file's app service, and on Kubernetes a Deployment of one uvicorn process per
container, its Service and its autoscaler."""

from provision.api import Containers, Image, SchemaError, kube, quote

PORT = 8000  # where the app listens in its container
PROBE = "import urllib.request; urllib.request.urlopen('http://127.0.0.1:{port}{path}', timeout=2)"


def parts(role, formula):
    """The role's part; ``formula``: the worker count's, of ``_cores()``, as the servers'."""
    v = role.vars
    image_ref = v["container_image_ref"]
    files = {
        "gunicorn.conf.py": role.template(
            "gunicorn.conf.py.j2",
            container=True,
            bind=[f"0.0.0.0:{PORT}"],
            trusted=["*"],
            workers=f'int(os.environ.get("WEB_CONCURRENCY") or 0) or {formula}',
            app_root="/app",
        ),
        "provision_gunicorn.py": role.file("provision_gunicorn.py"),
        "entrypoint.sh": role.template(
            "entrypoint.sh.j2",
            port=PORT,
            top=quote(v["app_module"].split(":")[0].split(".")[0]),
            module=quote(v["app_module"]),
            release_command=quote(v["app_release_command"]) if v["app_release_command"] else "",
        ),
    }
    image = Image(
        containerfile=role.template("Containerfile.j2", port=PORT),
        source=v["app_source"],
        ref=v["app_ref"],
        files=files,
        packages=list(v["gunicorn_packages"]),
    )
    return Containers(image=image, compose=compose(v, image_ref), kube=manifests(v, image_ref))


def health_check(v):
    """The image's health check, as compose states it."""
    probe = PROBE.format(port=PORT, path=v["app_health_path"])
    return {"test": ["CMD", "python3", "-c", probe], "interval": "10s", "timeout": "3s",
            "retries": 3, "start_period": "30s"}  # fmt: skip


def compose(v, image_ref):
    app = {
        "image": image_ref,
        "command": ["web"],
        "restart": "unless-stopped",
        "expose": [str(PORT)],
        "healthcheck": health_check(v),
        "stop_grace_period": f"{v['gunicorn_graceful_timeout'] + 5}s",
    }
    return {"name": v["app_name"].replace("_", "-"), "services": {"app": app}}


def workload(v, image_ref, part, args, health=False):
    """The app's image on Kubernetes running ``args``: the web app (``health``: probed
    on its health route), a process, a job."""
    return kube.Workload(
        v["app_name"],
        part,
        image_ref,
        args,
        dict(v["kube_requests"]),
        dict(v["kube_limits"]),
        port=PORT if health else 0,
        health_path=v["app_health_path"] if health else "",
        startup_seconds=int(v["app_health_timeout"]),
        grace_seconds=int(v["gunicorn_graceful_timeout"]) + 5,
    )


def check_numbers(v):
    """The cluster's numbers, before anything is written."""
    low, high, target = v["kube_replicas"], v["kube_max_replicas"], v["kube_cpu_target"]
    if not (isinstance(low, int) and low >= 1):
        raise SchemaError("kube_replicas", f"a number of pods, 1 or more; got {low!r}")
    if not (isinstance(high, int) and high >= low):
        raise SchemaError("kube_max_replicas", f"at least kube_replicas ({low}); got {high!r}")
    if not (isinstance(target, int) and 1 <= target <= 100):
        raise SchemaError("kube_cpu_target", f"a percentage, 1 to 100; got {target!r}")


def manifests(v, image_ref):
    """The web app's Deployment (one uvicorn process per pod), its Service and autoscaler,
    and the release command as a Job of the image's own (Jobs cannot be changed)."""
    check_numbers(v)
    web = workload(v, image_ref, "web", ["one"], health=True)
    name = v["app_name"]
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": web.labels},
        "spec": {
            "selector": web.labels,
            "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
        },
    }
    autoscaler = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "labels": web.labels},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": int(v["kube_replicas"]),
            "maxReplicas": int(v["kube_max_replicas"]),
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {
                            "type": "Utilization",
                            "averageUtilization": int(v["kube_cpu_target"]),
                        },
                    },
                }
            ],
        },
    }
    found = [web.deployment(int(v["kube_replicas"])), service, autoscaler]
    if v["app_release_command"]:
        tag = image_ref.rpartition(":")[2]
        migrate = workload(v, image_ref, "migrate", ["migrate"])
        found.append(migrate.job(f"{name}-migrate-{tag}"[:63].rstrip("-")))
    return found
