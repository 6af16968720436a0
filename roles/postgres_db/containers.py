"""The app's database on the container road: PostgreSQL in the compose file, with a
named volume (the app's services get its URL from roles/app). On Kubernetes the
database is not the app's to run: its URL goes in app_env."""

from provision.api import Containers, Secret

PASSWORD = "POSTGRES_PASSWORD"


def containers(role):
    v = role.vars
    if not v["postgres_enabled"]:
        return None
    user, db = v["postgres_user"], v["postgres_database"]
    database = {
        "image": v["postgres_container_image"],
        "restart": "unless-stopped",
        "environment": {"POSTGRES_USER": user, "POSTGRES_DB": db,
                        PASSWORD: f"${{{PASSWORD}:?not set: see provision compose --env}}"},
        "volumes": ["pgdata:/var/lib/postgresql/data"],
        "healthcheck": {"test": ["CMD", "pg_isready", "-U", user, "-d", db],
                        "interval": "5s", "timeout": "3s", "retries": 10},
    }  # fmt: skip
    notes = []
    if v["postgres_url_variable"] not in v["app_env"]:
        notes.append(f"kube: the cluster runs no database for the app: give its URL as "
                     f"app_env's {v['postgres_url_variable']}")  # fmt: skip
    return Containers(
        compose={"services": {"db": database}, "volumes": {"pgdata": {}}},
        secrets={PASSWORD: Secret("postgres_container_password", v["postgres_container_password"])},
        notes=notes,
    )
