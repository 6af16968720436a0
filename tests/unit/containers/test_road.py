"""The container road's files for an app, from its inventory: valid against the compose
specification and the Kubernetes API, probed and rolled out as the docs say, and never
holding a secret's value."""

import json
import zipfile
from importlib import resources

import jsonschema
import kubernetes_validate
import pytest
import yaml

from provision.commands import containers
from provision.containers import image as images
from provision.release import wheels
from provision.release.artifact import Source
from provision.release.wheels import Wheels
from tests.helpers import write_tree

SECRETS = ["s3cr3t-literal-1", "s3cr3t-env-2", "s3cr3t-command-3", "s3cr3t-db-4"]
SHOP = """\
vars:
  app_name: shop
  app_source: app
  app_domain: shop.example.com
  app_release_command: alembic upgrade head
  app_settings: {LOG_LEVEL: info, PRICE: "5$"}
  app_env:
    LITERAL: s3cr3t-literal-1
    FROM_ENV: {env: ROAD_TEST_SECRET}
    FROM_COMMAND: {command: "echo s3cr3t-command-3"}
  postgres_enabled: true
  postgres_container_password: {env: ROAD_TEST_DB}
  app_processes: {worker: "arq app.Worker"}
  app_schedule: {cleanup: {command: "python -m app.cleanup", on_calendar: "*-*-* 03:15:00"}}
  kube_replicas: 3
hosts:
  web1: {address: 127.0.0.1}
"""
# the compose specification's schema, as check-jsonschema vendors it
COMPOSE_SCHEMA = json.loads(
    (resources.files("check_jsonschema") / "builtin_schemas/vendor/compose-spec.json").read_text()
)
HELLO = "vars: {app_name: hello, app_source: app}\nhosts:\n  web1: {address: 127.0.0.1}\n"


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project of its own, its wheels resolved by a stand-in (no package index here)."""
    monkeypatch.setenv("ROAD_TEST_SECRET", "s3cr3t-env-2")
    monkeypatch.setenv("ROAD_TEST_DB", "s3cr3t-db-4")
    monkeypatch.chdir(tmp_path)
    write_tree(tmp_path / "app", {"main.py": "app = None\n", "requirements.txt": "fastapi\n"})

    def prepare(image, root, work):
        return Source(root / image.source, "1a2b3c4"), Wheels(["fastapi==0.115.0"], [])

    monkeypatch.setattr(images, "prepare", prepare)
    uv = tmp_path.parent / "uv.whl"  # a stand-in for uv's wheel: the program, and no more
    with zipfile.ZipFile(uv, "w") as whl:
        whl.writestr(wheels.UV_MEMBER, "#!/bin/sh\n")
    monkeypatch.setattr(wheels, "uv_wheel", lambda facts: uv)

    def made(text):
        (tmp_path / "inventory.yaml").write_text(text)
        return containers.Asked(tmp_path)

    return made


def loaded(path):
    return yaml.safe_load(path.read_text())


def manifests(root, app="shop"):
    return {p.stem: loaded(p) for p in sorted((root / "containers" / app / "kube").glob("*"))}


def test_the_compose_file_is_valid_against_the_compose_specification(project, capsys):
    asked = project(SHOP)
    assert containers.compose(asked) == 0
    compose = loaded(asked.root / "containers/shop/compose.yaml")
    jsonschema.validate(compose, COMPOSE_SCHEMA)
    services = compose["services"]
    assert sorted(services) == ["app", "db", "migrate", "nginx", "worker"]
    # the release command once, before the app; the database healthy first
    assert services["app"]["depends_on"] == {
        "db": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
    }
    assert services["migrate"]["command"] == ["migrate"]
    assert services["migrate"]["restart"] == "no"
    assert services["db"]["volumes"] == ["pgdata:/var/lib/postgresql/data"]
    assert compose["volumes"] == {"pgdata": {}}
    assert services["nginx"]["depends_on"] == {"app": {"condition": "service_healthy"}}
    assert "/health" in services["app"]["healthcheck"]["test"][-1]
    assert all(s["restart"] for s in services.values())
    env = services["worker"]["environment"]
    assert env["LOG_LEVEL"] == "info" and env["PRICE"] == "5$$"  # compose's own $ escaped
    assert env["FROM_ENV"].startswith("${FROM_ENV:?")
    assert env["DATABASE_URL"].startswith("postgresql+asyncpg://shop:${POSTGRES_PASSWORD:?")
    assert env["DATABASE_URL"].endswith("@db:5432/shop")
    site = (asked.root / "containers/shop/nginx.conf").read_text()
    assert "server app:8000;" in site and "proxy_set_header X-Forwarded-Proto" in site
    said = capsys.readouterr().out
    assert "secrets, by name only: LITERAL, FROM_ENV, FROM_COMMAND, POSTGRES_PASSWORD" in said
    assert "note: runs no schedule: cleanup left out" in said
    assert "note: nginx holds none of the app's files: /static/ goes to the app" in said


def test_the_manifests_are_valid_against_the_kubernetes_api(project, capsys):
    asked = project(SHOP)
    assert containers.kube(asked) == 0
    found = manifests(asked.root)
    assert containers.kube(asked, secret=True) == 0
    secret = yaml.safe_load(capsys.readouterr().out.split("---\n", 1)[1])
    version = kubernetes_validate.utils.latest_version()
    for obj in [*found.values(), secret]:
        kubernetes_validate.validate(obj, version, strict=True)
    kinds = sorted(obj["kind"] for obj in found.values())
    assert kinds == ["ConfigMap", "CronJob", "Deployment", "Deployment",
                     "HorizontalPodAutoscaler", "Ingress", "Job", "Service"]  # fmt: skip
    assert found["configmap-shop-settings"]["data"] == {"LOG_LEVEL": "info", "PRICE": "5$"}


def test_the_web_pods_are_probed_on_the_health_route_and_rolled_out_with_none_down(project):
    asked = project(SHOP + "  web2: {address: 127.0.0.2}\n")
    containers.kube(asked)
    found = manifests(asked.root)
    web = found["deployment-shop"]
    assert web["spec"]["replicas"] == 3
    assert web["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
    }
    [container] = web["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["one"]  # one uvicorn process: the cluster replicates
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/health", "port": "http"}
    assert container["ports"] == [{"name": "http", "containerPort": 8000}]
    assert container["resources"]["requests"] == {"cpu": "250m", "memory": "256Mi"}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert web["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
    assert container["envFrom"] == [{"configMapRef": {"name": "shop-settings"}},
                                    {"secretRef": {"name": "shop-secrets"}}]  # fmt: skip
    worker = found["deployment-shop-worker"]
    assert worker["spec"]["template"]["spec"]["containers"][0]["args"] == [
        "sh", "-c", "arq app.Worker"
    ]  # fmt: skip
    assert "readinessProbe" not in worker["spec"]["template"]["spec"]["containers"][0]
    scaler = found["horizontalpodautoscaler-shop"]["spec"]
    assert (scaler["minReplicas"], scaler["maxReplicas"]) == (3, 10)
    ingress = found["ingress-shop"]
    assert ingress["metadata"]["annotations"] == {"cert-manager.io/cluster-issuer": "letsencrypt"}
    assert ingress["spec"]["tls"] == [{"hosts": ["shop.example.com"], "secretName": "shop-tls"}]
    cron = found["cronjob-shop-cleanup"]["spec"]
    assert (cron["schedule"], cron["concurrencyPolicy"]) == ("15 3 * * *", "Forbid")
    [job] = [obj for name, obj in found.items() if name.startswith("job-shop-migrate-")]
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["migrate"]
    assert job["spec"]["backoffLimit"] == 0


def test_no_secret_value_is_written_and_the_pipes_give_every_one(project, capsys):
    asked = project(SHOP)
    assert containers.compose(asked) == 0
    assert containers.kube(asked) == 0
    assert containers.image(asked, build=False) == 0
    assert (asked.root / "app/Containerfile").is_file()
    assert (asked.root / ".provision/containers/shop/release/gunicorn.conf.py").is_file()
    written = [p for p in asked.root.rglob("*") if p.is_file() and p.name != "inventory.yaml"]
    assert len(written) > 8
    for path in written:
        text = path.read_bytes().decode(errors="replace")
        assert not any(s in text for s in SECRETS), path
    capsys.readouterr()
    assert containers.compose(asked, env=True) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "LITERAL='s3cr3t-literal-1'",
        "FROM_ENV='s3cr3t-env-2'",
        "FROM_COMMAND='s3cr3t-command-3'",
        "POSTGRES_PASSWORD='s3cr3t-db-4'",
    ]
    assert containers.kube(asked, secret=True) == 0
    secret = yaml.safe_load(capsys.readouterr().out.split("---\n", 1)[1])
    assert secret["stringData"] == {"LITERAL": "s3cr3t-literal-1", "FROM_ENV": "s3cr3t-env-2",
                                    "FROM_COMMAND": "s3cr3t-command-3"}  # fmt: skip


def test_a_secret_that_cannot_be_read_is_said_and_nothing_is_printed(project, capsys,
                                                                    monkeypatch):  # fmt: skip
    monkeypatch.delenv("ROAD_TEST_SECRET")
    asked = project(SHOP)
    assert containers.compose(asked, env=True) == 2
    said = capsys.readouterr()
    assert said.out == ""
    assert said.err == ("error: app_env: FROM_ENV: the environment variable ROAD_TEST_SECRET "
                        "is not set here\n")  # fmt: skip


def test_an_app_without_database_or_release_command_has_neither(project):
    asked = project(HELLO)
    containers.compose(asked)
    containers.kube(asked)
    compose = loaded(asked.root / "containers/hello/compose.yaml")
    jsonschema.validate(compose, COMPOSE_SCHEMA)
    assert sorted(compose["services"]) == ["app", "nginx"]
    assert "volumes" not in compose and "depends_on" not in compose["services"]["app"]
    found = manifests(asked.root, "hello")
    assert sorted(found) == ["configmap-hello-settings", "deployment-hello",
                             "horizontalpodautoscaler-hello", "ingress-hello",
                             "service-hello"]  # fmt: skip
    assert "tls" not in found["ingress-hello"]["spec"]
    assert "host" not in found["ingress-hello"]["spec"]["rules"][0]


def test_the_same_content_gives_the_same_tag(project, capsys):
    asked = project(HELLO)
    containers.compose(asked)
    first = loaded(asked.root / "containers/hello/compose.yaml")["services"]["app"]["image"]
    capsys.readouterr()
    assert containers.image(asked, build=False) == 0  # writes app/Containerfile: not content
    assert capsys.readouterr().out.startswith(f"-- hello: image {first}\n")
    assert (asked.root / "app/Containerfile").is_file()
    assert not (asked.root / ".provision/containers/hello/release/Containerfile").exists()
    containers.compose(asked)
    assert loaded(asked.root / "containers/hello/compose.yaml")["services"]["app"]["image"] == first
    containers.kube(asked)
    again = manifests(asked.root, "hello")["deployment-hello"]
    assert again["spec"]["template"]["spec"]["containers"][0]["image"] == first
    (asked.root / "app/main.py").write_text("app = 1\n")
    containers.compose(asked)
    assert loaded(asked.root / "containers/hello/compose.yaml")["services"]["app"]["image"] != first
