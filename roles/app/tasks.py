"""The app's system user, its settings, the directory layout releases use, and the
command each release runs before it goes live (migrations)."""

import json
import re

from provision.api import (
    Change,
    Command,
    Detected,
    DiskProbe,
    FileContent,
    Hooks,
    Layout,
    NoChange,
    Operation,
    PathInfo,
    RoleError,
    SchemaError,
    Shell,
    Step,
    files,
    in_release,
    inside,
    quote,
    secret,
    secret_value,
    server,
)

from . import containers as road

NOTES = "/var/lib/provision/apps"  # a file per app the server holds: "<app_root> <app_user>"
OLD_NOTE = "/var/lib/provision/app"  # "<app_name> <app_root>": the one app, before 0.3
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check(v, root):
    """The app's environment: each secret read here, before any connection."""
    env_values(v)  # a secret that cannot be read stops the run here, before connecting


def env_values(v):
    """app_env, each value read from where it says: as written; ``{env: NAME}``, from the
    environment of this machine; ``{command: CMD}``, what CMD prints here (a password
    manager's CLI, `sops -d`), its final newline dropped."""
    return {key: secret_value("app_env", key, value) for key, value in v["app_env"].items()}


def app_defaults(name):
    """A user of its own for an app of the inventory's apps: (its name); set app_user to
    choose."""
    return {"app_user": name}


def check_apps(apps):
    """Apps on one server have users and folders of their own."""
    for key in ("app_user", "app_root"):
        taken = {}
        for name, v in apps.items():
            if v[key] in taken:
                raise SchemaError(key, f"{v[key]!r} is {taken[v[key]]}'s already: each app on "
                                  f"a server needs its own {key}", app=name)  # fmt: skip
            taken[v[key]] = name


def tasks(role):
    v = role.vars
    user, root = v["app_user"], v["app_root"]
    yield server.group(user)
    yield server.user(user, group=user, home=root, shell="/usr/sbin/nologin", system=True)
    layout = Layout(root)
    # The app's code is root's: the app reads it and writes only in shared/.
    yield files.directory(root, owner="root", group="root", mode=0o755)
    for sub in Layout.DIRECTORIES:
        yield files.directory(layout.path(sub), owner="root", group="root", mode=0o755)
    yield files.directory(layout.shared, owner=user, group=user, mode=0o750)
    # the server's note of the apps it holds, which the server_apps role reads
    yield files.directory(NOTES, mode=0o755)
    yield files.file(f"{NOTES}/{v['app_name']}", f"{root} {user}\n", mode=0o644)
    yield env_file(v, f"{layout.shared}/.env")
    dirs, kept_files = shared_paths(v)
    parents = {p.rsplit("/", 1)[0] for p in kept_files if "/" in p}
    for path in sorted(set(dirs) | parents):
        yield files.directory(f"{layout.shared}/{path}", owner=user, group=user, mode=0o750)


def remove(role, data):
    """The app's user, group, releases and virtualenvs; its shared/ (uploads, .env) is
    kept, made root's, unless ``data``. The folder and user are those the server noted."""
    v = role.vars
    note = f"{NOTES}/{v['app_name']}"
    root = v["app_root"]
    facts = {"noted": FileContent(note), "old": FileContent(OLD_NOTE), "root": PathInfo(root),
             "releases": PathInfo(f"{root}/releases")}  # fmt: skip

    def decide(noted, old, root, releases):
        here, user = noted.decode().split() if noted else (v["app_root"], v["app_user"])
        if noted is None and (root is None if data else releases is None):
            return NoChange(f"nothing of {v['app_name']} here")
        layout = Layout(here)
        if data:
            files_gone = Command.of("rm", "-rf", "--one-file-system", here)
        else:
            gone = [layout.path(sub) for sub in Layout.DIRECTORIES]
            gone += [layout.current, layout.intent]
            files_gone = Command.script(
                "rm -rf --one-file-system {gone}; if [ -d {shared} ]; then chown -R root:root "
                "{shared}; fi",
                gone=Shell(" ".join(quote(p) for p in gone)),
                shared=layout.shared,
            )
        account = Command.script(
            "if id -u {u} >/dev/null 2>&1; then userdel {u}; fi; if getent "
            "group {u} >/dev/null; then groupdel {u}; fi",
            u=user,
        )
        notes = [note, *([OLD_NOTE] if old and old.split()[:1] == [v["app_name"].encode()] else [])]
        said = "with its data" if data else f"{layout.shared} kept"
        return Change(
            [files_gone, account, Command.of("rm", "-f", *notes)],
            f"user {user} and {here} removed ({said})",
        )

    return [Operation(f"no app {v['app_name']}", facts, decide)]


# Where the database password goes in the .env template; replaced on the server.
PASSWORD = "@@provision-postgres-password@@"


def env_file(v, path):
    """shared/.env: app_env, and with PostgreSQL the database's URL, whose password the
    server puts in (see roles/postgres)."""
    user = v["app_user"]
    if not v["postgres_enabled"]:
        env = {**settings(v), **env_values(v)}
        return files.file(path, dotenv(env), owner=user, group=user, mode=0o600, sensitive=True)
    url = (f"{v['postgres_url_scheme']}://{v['postgres_user']}:{PASSWORD}"
           f"@localhost:5432/{v['postgres_database']}")  # fmt: skip
    env = {**settings(v), v["postgres_url_variable"]: url, **env_values(v)}
    return secret.template(path, dotenv(env), {PASSWORD: v["postgres_password_file"]},
                           owner=user, group=user, mode=0o600)  # fmt: skip


def settings(v):
    """app_settings, each value as text."""
    return {str(key): str(value) for key, value in v["app_settings"].items()}


def containers(role):
    """The app's settings and secrets on the container road (see containers.py)."""
    return road.parts(role.vars, settings(role.vars))


def shared_paths(v):
    """(directories, files) that outlive releases, as clean relative paths."""
    found = []
    for key in ("app_shared_dirs", "app_shared_files"):
        try:
            found.append([inside(str(p)) for p in v[key]])
        except ValueError as e:
            raise RoleError(f"{key}: {e}") from e
    return found[0], found[1]


def status(role):
    """Free disk where the releases are (instead of the base role's root filesystem)."""
    return {"disk": DiskProbe(role.vars["app_root"])}


def secrets(role):
    return list(env_values(role.vars).values())


def dotenv(settings):
    """KEY="value" lines, values JSON-quoted (python-dotenv reads them the same way)."""
    for key in settings:
        if not ENV_NAME.match(str(key)):
            raise RoleError(f"app_env: {key!r} is not a valid environment variable name")
    lines = [f"{key}={json.dumps(str(value))}" for key, value in settings.items()]
    return "# Managed by provision (roles/app): set app_env in the inventory.\n" + "".join(
        f"{line}\n" for line in lines
    )


def release(role):
    """The release command, as a step before the new release is checked."""
    v = role.vars
    command = v["app_release_command"]
    if not command:
        return None
    layout = Layout(v["app_root"])

    def commands(ctx):
        run = in_release(layout, v["app_user"], ctx.release_dir, command)
        return [Command.script("{run} 2>&1", run=run, label=command)]

    # Once per deploy: several app servers share one database.
    return Hooks({"before_check": [Step("release command", commands, once=True)]})


def detect(source):
    """What `provision init` writes for the app: its name, its source (this folder), and
    Alembic's migrations as the release command when the app has alembic.ini."""
    name = re.sub(r"[^a-z0-9-]+", "-", source.name.lower()).strip("-")
    name = name if name[:1].isalpha() else f"app-{name}".rstrip("-")
    found = Detected(
        settings={"app_name": name, "app_source": ".", "app_domain": ""},
        comments={
            "app_name": "The app's name: its user's, its folder's (/srv/<name>), its service's.",
            "app_source": "Where releases come from: this folder (or a git URL).",
            "app_domain": "The domain nginx serves the app on, with a Let's Encrypt "
            "certificate;\nempty: plain HTTP on the server's address.",
        },
        examples=[
            "The app's settings, written to the server's shared/.env and never shown:",
            "app_env:",
            "  SECRET_KEY: {env: APP_SECRET_KEY}    read from this machine's environment",
        ],
    )
    if (source.path / "alembic.ini").is_file():
        found.settings["app_release_command"] = "alembic upgrade head"
        found.comments["app_release_command"] = (
            "Run once per release before it goes live: Alembic's migrations (alembic.ini)."
        )
    return found
