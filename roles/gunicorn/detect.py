"""What `provision init` reads of a FastAPI app for the role that runs it: the module that
binds the app (``app_module``) and its health route (``app_health_path``), from the
source's syntax trees, without running it.

Example::

    apps, routes = fastapi_apps(Path("."))   # ["app.main:app"], ["/", "/health"]
"""

import ast
from pathlib import PurePosixPath

from provision.api import Detected

from .appcheck import imports_of, route_of, source_files

HEALTH = ("/health", "/healthz", "/health/", "/_health", "/livez", "/readyz", "/ready",
          "/ping")  # fmt: skip
NOT_THE_APP = {"tests", "test", "migrations", "alembic", "docs", "examples", "scripts"}
FIRST = ("main", "app", "api", "server", "asgi")  # the names an app's module most often has


def fastapi_apps(source):
    """``module:name`` of each FastAPI instance bound at a module's top level (the most
    likely first), and the paths of every route the source declares."""
    apps, routes = [], []
    for path, rel in source_files(source):
        parts = PurePosixPath(rel).parts
        if path.suffix != ".py" or NOT_THE_APP & set(parts[:-1]) or parts[-1].startswith("test"):
            continue
        try:
            tree = ast.parse(path.read_bytes(), rel)
        except (SyntaxError, ValueError):
            continue
        imported = imports_of(tree)
        functions = [f for f in ast.walk(tree)
                     if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)]  # fmt: skip
        routes += [r for r in map(route_of, functions) if r]
        module = _module(parts)
        apps += [f"{module}:{name}" for name in _instances(tree, imported)]
    return sorted(apps, key=_likely), routes


def _module(parts):
    """``app/main.py`` -> ``app.main``; ``src/shop/__init__.py`` -> ``shop``."""
    parts = list(parts[1:] if parts[0] == "src" and len(parts) > 1 else parts)
    parts[-1] = parts[-1].removesuffix(".py")
    return ".".join(parts[:-1] if parts[-1] == "__init__" and len(parts) > 1 else parts)


def _instances(tree, imported):
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.Call):
            func = node.value.func
            called = func.id if isinstance(func, ast.Name) else ""
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                called = f"{imported.get(func.value.id, func.value.id)}.{func.attr}"
            if imported.get(called, called) == "fastapi.FastAPI":
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                yield from (t.id for t in targets if isinstance(t, ast.Name))


def _likely(found):
    module, _, _ = found.partition(":")
    last = module.rsplit(".", 1)[-1]
    return (module.count("."), FIRST.index(last) if last in FIRST else len(FIRST), found)


def detect(source):
    """app_module and app_health_path, with a warning when there is a choice to make or
    no health route."""
    apps, routes = fastapi_apps(source.path)
    found = Detected()
    if apps:
        found.settings["app_module"] = apps[0]
        found.comments["app_module"] = "The FastAPI app, as `uvicorn MODULE:NAME` takes it."
        if len(apps) > 1:
            others = ", ".join(apps[1:])
            found.comments["app_module"] += f"\nAlso found: {others}."
            found.warnings.append(f"several FastAPI apps: chose {apps[0]} (also found: "
                                  f"{others}); set app_module to choose another")  # fmt: skip
    else:
        found.warnings.append("no FastAPI app found (`app = FastAPI()` at a module's top "
                              "level): set app_module to module:name")  # fmt: skip
    health = next((path for path in HEALTH if path in routes), None)
    if health:
        found.settings["app_health_path"] = health
        found.comments["app_health_path"] = (
            "A deploy waits for this route to answer 200 before the release goes live."
        )
    elif apps:
        found.warnings.append(f"the app has no health route ({', '.join(HEALTH[:2])}, ...): a "
                              "deploy waits for /health to answer 200; add one, "
                              '`@app.get("/health")` returning {"status": "ok"}')  # fmt: skip
    return found
