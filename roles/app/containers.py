"""The app's settings on the container road: in clear where they are not secret (the
compose file, a ConfigMap), by name only where they are (app_env): compose reads them
from its environment, Kubernetes from the Secret `provision kube --secret` prints.

In the compose file, every service that runs the app's image (the app, its release
command, its processes) gets them, and with PostgreSQL the database's URL and a wait
for the database."""

from provision.api import Containers, Secret, kube


def asked(name):
    """A value compose takes from its environment, and refuses to start without."""
    return f"${{{name}:?not set: see provision compose --env}}"


def services(v):
    """The compose services that run the app's image: the app, the release command
    (migrate), each process of app_processes (roles/processes)."""
    return ["app", *(["migrate"] if v["app_release_command"] else []), *v["app_processes"]]


def environment(v, settings):
    found = {key: value.replace("$", "$$") for key, value in settings.items()}
    if v["postgres_enabled"]:  # the database of roles/postgres_db's compose service
        found[v["postgres_url_variable"]] = (
            f"{v['postgres_url_scheme']}://{v['postgres_user']}:{asked('POSTGRES_PASSWORD')}"
            f"@db:5432/{v['postgres_database']}"
        )
    found.update({str(key): asked(key) for key in v["app_env"]})  # app_env's wins
    return found


def parts(v, settings):
    """The role's part; ``settings``: app_settings, as text."""
    env = environment(v, settings)
    each = {"environment": env} if env else {}
    if v["postgres_enabled"]:
        each["depends_on"] = {"db": {"condition": "service_healthy"}}
    found = {name: each for name in services(v)}
    if v["app_release_command"]:
        # the release command, once, before the app starts: as a deploy runs it
        found["migrate"] = {**each, "image": v["container_image_ref"], "command": ["migrate"],
                            "restart": "no"}  # fmt: skip
        found["app"] = {**each, "depends_on": {
            **each.get("depends_on", {}), "migrate": {"condition": "service_completed_successfully"}
        }}  # fmt: skip
    name = v["app_name"]
    secrets = {str(key): Secret("app_env", source) for key, source in v["app_env"].items()}
    return Containers(
        compose={"services": found},
        kube=[kube.config_map(name, settings), kube.secret(name, list(secrets))],
        secrets=secrets,
    )
