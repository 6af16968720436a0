"""Kubernetes objects for an app's containers, as data: what roles build their manifests
from, as they build units from ``systemd``.

Every container of an app runs its image as a non-root user with a read-only root
filesystem and no capabilities, with the app's settings (the ConfigMap ``<app>-settings``)
and secrets (the Secret ``<app>-secrets``) in its environment.

Example::

    web = Workload("shop", "web", "shop:1a2b", ["one"], port=8000, health_path="/health")
    web.deployment(replicas=2)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

USER = 10001  # the app's user in its image


@dataclass(frozen=True)
class Workload:
    """One part of an app (``web``, a worker, a job) as Kubernetes runs it. With
    ``health_path``, it serves HTTP on ``port``: its pods are probed there, started
    within ``startup_seconds``, ready and alive while it answers."""

    app: str
    part: str
    image: str
    args: list[str]
    requests: dict[str, Any] = field(default_factory=dict)
    limits: dict[str, Any] = field(default_factory=dict)
    port: int = 0
    health_path: str = ""
    startup_seconds: int = 30
    grace_seconds: int = 30

    @property
    def name(self) -> str:
        return self.app if self.part == "web" else f"{self.app}-{self.part}"

    @property
    def labels(self) -> dict[str, str]:
        return labels(self.app, self.part)

    def container(self) -> dict[str, Any]:
        made: dict[str, Any] = {
            "name": self.part,
            "image": self.image,
            "args": list(self.args),
            "envFrom": [
                {"configMapRef": {"name": f"{self.app}-settings"}},
                {"secretRef": {"name": f"{self.app}-secrets"}},
            ],
            "resources": {"requests": dict(self.requests), "limits": dict(self.limits)},
            "securityContext": {
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "capabilities": {"drop": ["ALL"]},
            },
            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
        }
        if self.health_path:
            made["ports"] = [{"name": "http", "containerPort": self.port}]
            made["startupProbe"] = self._probe(1, self.startup_seconds)
            made["readinessProbe"] = self._probe(5, 2)
            made["livenessProbe"] = self._probe(10, 3)
        return made

    def _probe(self, period: int, failures: int) -> dict[str, Any]:
        return {"httpGet": {"path": self.health_path, "port": "http"}, "periodSeconds": period,
                "timeoutSeconds": 3, "failureThreshold": failures}  # fmt: skip

    def pod(self, restart: str = "Always") -> dict[str, Any]:
        return {
            "metadata": {"labels": self.labels},
            "spec": {
                "securityContext": {"runAsNonRoot": True, "runAsUser": USER, "runAsGroup": USER},
                "terminationGracePeriodSeconds": self.grace_seconds,
                "restartPolicy": restart,
                "containers": [self.container()],
                "volumes": [{"name": "tmp", "emptyDir": {}}],
            },
        }

    def deployment(self, replicas: int) -> dict[str, Any]:
        """Rolled out a pod at a time; none is taken down before its replacement is ready."""
        return {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": self.name, "labels": self.labels},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": self.labels},
                "strategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
                },
                "template": self.pod(),
            },
        }

    def run_once(self, timeout: float = 0) -> dict[str, Any]:
        """A Job's spec: run to its end, a failure not retried (a migration is not run
        twice), stopped after ``timeout`` seconds (0: no limit)."""
        spec: dict[str, Any] = {"backoffLimit": 0, "template": self.pod("Never")}
        if timeout:
            spec["activeDeadlineSeconds"] = int(timeout)
        return spec

    def job(self, name: str) -> dict[str, Any]:
        metadata = {"name": name, "labels": self.labels}
        return {"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata,
                "spec": self.run_once()}  # fmt: skip

    def cron_job(self, schedule: str, timeout: float = 0) -> dict[str, Any]:
        """Run at each time of ``schedule`` (cron's five fields), never twice at once."""
        spec = self.run_once(timeout)
        return {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": self.name, "labels": self.labels},
            "spec": {
                "schedule": schedule,
                "concurrencyPolicy": "Forbid",
                "jobTemplate": {"spec": spec},
            },
        }


def labels(app: str, part: str = "web") -> dict[str, str]:
    return {"app.kubernetes.io/name": app, "app.kubernetes.io/component": part}


def config_map(app: str, data: dict[str, str]) -> dict[str, Any]:
    """The app's settings that are not secret."""
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": f"{app}-settings", "labels": labels(app, "settings")},
            "data": dict(data)}  # fmt: skip


def secret(app: str, names: list[str]) -> dict[str, Any]:
    """The app's Secret, its keys ``names``: its values are filled in only where it is
    printed for ``kubectl apply -f -``, never in a file."""
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": f"{app}-secrets", "labels": labels(app, "secrets")},
            "stringData": dict.fromkeys(names, "")}  # fmt: skip
