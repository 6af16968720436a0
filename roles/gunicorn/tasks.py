"""The app server under systemd, and how releases of the app are started and checked."""

import ast
import zlib
from pathlib import Path

from provision.api import (
    ArtifactError,
    LogSource,
    ReleasePlan,
    RoleError,
    SchemaError,
    ServiceProbe,
    SourceCheck,
    dependencies,
    files,
    inside,
    is_git_url,
    systemd,
)

from . import appcheck
from . import containers as road
from .detect import detect as detect_app
from .port import port_free
from .serving import ACCESS_LINE, check_command, go_live, logs_since

# app_workload -> (a, b): a * cores + b workers
WORKLOADS = {"io": (1, 1), "mixed": (2, 1), "cpu": (2, 1)}


def workload_fault(v):
    """Why app_workload cannot be used, or ""."""
    workload = v["app_workload"]
    return "" if workload in WORKLOADS else f"expected one of io, mixed, cpu; got {workload!r}"


def check(v, root):
    """What can be told before connecting: the workload is known, the source exists."""
    if fault := workload_fault(v):
        raise SchemaError("app_workload", fault)
    source = v["app_source"]
    if is_git_url(source):
        return
    if not (root / source).is_dir():
        raise SchemaError("app_source", f"no such directory {source!r} (relative to {root})")
    try:
        dependencies(root / source)
    except ArtifactError as e:
        raise SchemaError("app_source", str(e)) from e
    if fault := module_fault(root / source, v["app_module"]):
        raise SchemaError("app_module", fault)


def app_defaults(name):
    """Ports of its own for an app of several on a server, stable from its name (8100 to
    8899, the spare one next to the live one); set app_port to choose."""
    port = 8100 + 2 * (zlib.crc32(name.encode()) % 400)
    return {"app_port": port, "app_check_port": port + 1}


def check_apps(apps):
    """Apps on one server listen on ports of their own: the live one and the spare one."""
    taken = {}
    for name, v in apps.items():
        for key in ("app_port", "app_check_port"):
            port = v[key]
            if port in taken:
                other, its = taken[port]
                raise SchemaError(key, f"{port} is {other}'s {its} already: each app on a "
                                  "server needs ports of its own (set app_port and "
                                  "app_check_port for each)", app=name)  # fmt: skip
            taken[port] = (name, key)


def source(v, root):
    """What `fab doctor` reads of the app's source: FastAPI's production mistakes."""
    says = f"app_module {v['app_module']}, app_health_path {v['app_health_path']}"

    def read(path):
        return appcheck.check_source(
            path, v["app_health_path"], module_fault(path, v["app_module"])
        )

    return SourceCheck(v["app_source"], v["app_ref"], says, read)


def module_fault(source, app_module):
    """Why ``module:attribute`` cannot be the app in ``source`` (at the top, or in a src/
    layout), read without running the app's code; "" when it looks right."""
    module, _, attribute = str(app_module).partition(":")
    if not module or not attribute.isidentifier():
        return f"expected module:attribute, as `uvicorn main:app` takes; got {app_module!r}"
    rel = Path(*module.split("."))
    tried = [rel.with_suffix(".py"), rel / "__init__.py"]
    found = [base / t for base in (source, source / "src") for t in tried]
    path = next((p for p in found if p.is_file()), None)
    if path is None:
        return f"no module {module} in {source} (looked for {tried[0]}, {tried[1]}, also in src/)"
    try:
        tree = ast.parse(path.read_bytes(), str(path))
    except SyntaxError as e:
        return f"{path}:{e.lineno}: {e.msg}"
    names = top_level_names(tree.body)
    if attribute not in names and "*" not in names:  # `from x import *` may bind it
        return f"{path} defines no {attribute!r} at its top level"
    return ""


def top_level_names(body):
    """Names a module binds outside functions and classes (in if/try/with blocks too)."""
    names = set()
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        else:
            for field in ("body", "orelse", "finalbody", "handlers"):
                names |= top_level_names(getattr(node, field, []))
    return names


def workers(role, cores=None):
    """The worker count: app_workers, else app_workload's formula of the server's cores;
    with ``cores``, the formula of that Python expression (where cores are known only at
    start: an image)."""
    v = role.vars
    if v["app_workers"]:
        return v["app_workers"]
    if fault := workload_fault(v):
        raise RoleError(f"app_workload: {fault}")
    a, b = WORKLOADS[v["app_workload"]]
    return f"{a} * {cores} + {b}" if cores else a * role.facts.cpus + b


def containers(role):
    """The app's image, service and Deployment on the container road (containers.py)."""
    return road.parts(role, workers(role, cores="_cores()"))


def tasks(role):
    v = role.vars
    unit = f"/etc/systemd/system/{v['app_name']}.service"
    # A changed unit takes effect only on a restart (a reload keeps the old process
    # settings): that one restart is the price of changing it.
    text = role.template("app.service.j2", sandbox=sandbox(v))
    yield port_free(v["app_name"], v["app_port"])
    yield files.file(unit, text, notify=["daemon-reload", "restart app"])
    yield systemd.service(v["app_name"], running=None, enabled=True)


def remove(role, data):
    """The app's web service: stopped, disabled, its unit removed."""
    yield systemd.units_absent(f"{role.vars['app_name']}.service", [], "web service")


def sandbox(v):
    """The sandbox directives of the app's units (settings of roles/app)."""
    writable = [f"{v['app_root']}/shared", *map(str, v["app_writable_paths"])]
    return systemd.directives(
        v["app_sandbox"], v["app_sandbox_changes"], ReadWritePaths=" ".join(writable)
    )


def handlers(role):
    return {
        "daemon-reload": systemd.daemon_reload(),
        "restart app": systemd.try_restart(role.vars["app_name"]),
    }


def shared(v):
    """The app's paths kept in shared/ (see the app role), validated there too."""
    try:
        return [inside(str(p)) for p in [*v["app_shared_dirs"], *v["app_shared_files"]]]
    except ValueError as e:
        raise RoleError(f"app_shared_dirs/app_shared_files: {e}") from e


def logs(role):
    """The app's journal (gunicorn's own lines, the app's output, the access lines)."""
    return {"web": LogSource(unit=role.vars["app_name"])}


def status(role):
    """The app's service: its master's state, its workers, memory, restarts, uptime."""
    return {
        "web": ServiceProbe(
            role.vars["app_name"], children="workers", fewer="set app_workers lower"
        )
    }


def listen(role):
    """Where the app listens: this host's loopback (nginx here, the checks), and on an app
    server its private address too, with the balancers that send to it trusted for
    their X-Forwarded-* headers."""
    v = role.vars
    port = v["app_port"]
    if v["serves"] != "app":
        return [f"127.0.0.1:{port}"], ["127.0.0.1"]
    private = v["private_address"] or role.peers.me.address
    balancers = [p.private_address for p in role.peers.naming_me("balancer_upstream")
                 if p.vars["serves"] == "balancer"]  # fmt: skip
    return [f"127.0.0.1:{port}", f"{private}:{port}"], ["127.0.0.1", *balancers]


def release(role):
    v = role.vars
    bind, trusted = listen(role)
    addons = role.file("provision_gunicorn.py")
    return ReleasePlan(
        root=v["app_root"],
        user=v["app_user"],
        service=v["app_name"],
        source=v["app_source"],
        ref=v["app_ref"],
        go_live=go_live(v["app_name"]),
        logs_since=logs_since(v["app_name"]),
        log_noise=ACCESS_LINE,
        port=v["app_port"],
        check_port=v["app_check_port"],
        health_path=v["app_health_path"],
        smoke_paths=[str(path) for path in v["app_smoke_paths"]],
        health_timeout=v["app_health_timeout"],
        keep=v["app_keep_releases"],
        packages=v["gunicorn_packages"],
        check_command=check_command,
        files={
            "gunicorn.conf.py": role.template(
                "gunicorn.conf.py.j2",
                workers=workers(role),
                bind=bind,
                trusted=trusted,
                container=False,
            ),
            "provision_gunicorn.py": addons,
        },
        shared_links={".env": "shared/.env", **{p: f"shared/{p}" for p in shared(v)}},
    )


def detect(source):
    """What `provision init` writes: the app's module and its health route."""
    return detect_app(source)
