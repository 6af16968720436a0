"""`fab doctor`'s reading of a FastAPI app's source: the production mistakes that a Python web
app makes most, found without running it (by its syntax tree and its start scripts).

Example::

    for finding in check_source(Path("example-app"), "/health"):
        print(finding)   # main.py:12: error: `time.sleep` blocks the event loop ...
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from provision.api import Finding

SKIP = {".git", ".venv", "venv", "node_modules", "__pycache__", ".tox", "build", "dist"}

# Calls that block the thread they run on; in an `async def`, they stall every request of
# that worker. The fix for each.
BLOCKING = {
    "time.sleep": "await asyncio.sleep(...)",
    "requests.get": "an async client (httpx.AsyncClient), or run_in_threadpool",
    "requests.post": "an async client (httpx.AsyncClient), or run_in_threadpool",
    "requests.put": "an async client (httpx.AsyncClient), or run_in_threadpool",
    "requests.delete": "an async client (httpx.AsyncClient), or run_in_threadpool",
    "requests.request": "an async client (httpx.AsyncClient), or run_in_threadpool",
    "urllib.request.urlopen": "an async client (httpx.AsyncClient)",
    "httpx.get": "httpx.AsyncClient",
    "httpx.post": "httpx.AsyncClient",
    "subprocess.run": "await asyncio.create_subprocess_exec(...)",
    "subprocess.call": "await asyncio.create_subprocess_exec(...)",
    "subprocess.check_output": "await asyncio.create_subprocess_exec(...)",
    "subprocess.check_call": "await asyncio.create_subprocess_exec(...)",
    "psycopg2.connect": "an async driver (asyncpg, psycopg 3's AsyncConnection), or a plain def",
    "sqlite3.connect": "aiosqlite, or a plain `def` endpoint (run in a thread pool)",
    "pymysql.connect": "an async driver (aiomysql, asyncmy), or a plain def",
    "open": "a plain `def` endpoint for file work, or aiofiles / run_in_threadpool",
}
ENGINES = {"create_engine", "create_async_engine", "sqlalchemy.create_engine",
           "sqlalchemy.ext.asyncio.create_async_engine"}  # fmt: skip
ROUTE_METHODS = {"get", "post", "put", "patch", "delete", "head", "options", "api_route",
                 "route", "websocket"}  # fmt: skip
RELOAD = re.compile(r"\buvicorn\b[^\n]*--reload\b|\breload\s*=\s*True\b")
SCRIPTS = ("Procfile", "Makefile", "Dockerfile", "docker-compose.yml", "compose.yaml")


def dotted(node: ast.expr) -> str:
    """``a.b.c`` for a call's function, or ""."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else ""
    return ""


def route_of(func: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    """The path of the route ``func`` is decorated as (``@app.get("/x")``), or None."""
    for dec in func.decorator_list:
        call = dec if isinstance(dec, ast.Call) else None
        if call and isinstance(call.func, ast.Attribute) and call.func.attr in ROUTE_METHODS:
            first = call.args[0] if call.args else None
            return first.value if isinstance(first, ast.Constant) else ""
    return None


def _own_calls(func: ast.AST) -> Iterator[ast.Call]:
    """Calls in ``func``'s body, not in functions defined inside it."""
    for node in ast.iter_child_nodes(func):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        if isinstance(node, ast.Call):
            yield node
        yield from _own_calls(node)


def imports_of(tree: ast.Module) -> dict[str, str]:
    """Local name -> full name, for ``from time import sleep`` and ``import x as y``."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                names[alias.asname or alias.name] = alias.name
    return names


def check_module(path: Path, rel: str, routes: list[str]) -> list[Finding]:
    """The findings in one Python file; the paths of its routes go to ``routes``."""
    try:
        tree = ast.parse(path.read_bytes(), str(path))
    except (SyntaxError, ValueError) as e:
        return [Finding(f"{rel}:{getattr(e, 'lineno', 0)}", "error", f"syntax error: {e}",
                        "fix the syntax: the app cannot start")]  # fmt: skip
    imported = imports_of(tree)
    found = []
    for func in ast.walk(tree):
        if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        route = route_of(func)
        if route is not None:
            routes.append(route)
        for call in _own_calls(func):
            name = dotted(call.func)
            head, _, rest = name.partition(".")
            full = f"{imported[head]}.{rest}".rstrip(".") if head in imported else name
            at = f"{rel}:{call.lineno}"
            if isinstance(func, ast.AsyncFunctionDef) and full in BLOCKING:
                found.append(Finding(at, "error", f"`{name}` blocks the event loop in `async def "
                                     f"{func.name}`: every request on this worker waits for it",
                                     f"use {BLOCKING[full]}"))  # fmt: skip
            if route is not None and (full in ENGINES or name in ENGINES):
                found.append(Finding(at, "warning", f"`{name}` in the endpoint `{func.name}`: a "
                                     "new engine and connection pool for every request",
                                     "create the engine once, at import or in the app's "
                                     "lifespan, and take sessions from it"))  # fmt: skip
    if RELOAD.search(path.read_text(errors="replace")):
        found += _reload(path, rel)
    return found


def _reload(path: Path, rel: str) -> list[Finding]:
    found = []
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        if RELOAD.search(line) and not line.lstrip().startswith("#"):
            found.append(Finding(f"{rel}:{number}", "warning", "uvicorn's reloader: it watches "
                                 "files and restarts the app, for development only",
                                 "run without --reload / reload=True in production (provision "
                                 "runs the app under gunicorn, without it)"))  # fmt: skip
    return found


def source_files(source: Path) -> Iterator[tuple[Path, str]]:
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if path.is_file() and not SKIP & set(rel.parts):
            yield path, rel.as_posix()


def check_source(source: Path, health_path: str, module_fault: str = "") -> list[Finding]:
    """Every finding in the app at ``source``; ``module_fault``: why the app's module is
    not found (as the role that runs it says), or ""."""
    found, routes = [], []
    if module_fault:
        found.append(Finding("app_module", "error", module_fault,
                             "set app_module to module:attribute, as `uvicorn main:app` "
                             "takes it"))  # fmt: skip
    for path, rel in source_files(source):
        if path.suffix == ".py":
            found += check_module(path, rel, routes)
        elif path.suffix in (".sh", ".toml", ".cfg", ".ini") or path.name in SCRIPTS:
            found += _reload(path, rel)
    if health_path not in routes:
        level = "warning" if "" in routes else "error"  # a route whose path we cannot read
        found.append(Finding("app_health_path", level, f"no route at {health_path}: a deploy "
                             "waits for it to answer 200 before the release goes live",
                             f'add `@app.get("{health_path}")` returning {{"status": "ok"}}, or '
                             "set app_health_path to a route the app has"))  # fmt: skip
    return found
