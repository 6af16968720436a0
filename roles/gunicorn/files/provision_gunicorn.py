"""provision's add-ons to gunicorn, shipped in every release beside gunicorn.conf.py.

A worker that drops no request when it is replaced
---------------------------------------------------
On a reload (HUP) gunicorn starts new workers and stops the old ones. A stock uvicorn
worker, told to stop, stops listening and at once closes every connection that has no
request in progress, including one it has just accepted whose request is still on its
way; nginx then answers 502. ``DrainingUvicornWorker`` first stops accepting, then keeps
serving for PROVISION_DRAIN_SECONDS (default 1), so that such connections deliver their
request, and only then shuts down as uvicorn does, finishing every request in progress
(for at most gunicorn's graceful_timeout).

Which release answered
----------------------
A request that carries ``X-Provision-Probe`` gets an ``X-Provision-Release`` answer
header naming the release whose worker answered (from its ``REVISION`` file), whatever
route it asked and whatever the app answered: provision's health gate tells the new
release from the old one by it, without the app's help.

A master that starts new workers in milliseconds
------------------------------------------------
New workers import the app, and most of that time goes into its libraries (FastAPI,
pydantic, ...). So when a release is checked before it goes live, its worker writes the
names of the library modules it imported to ``.provision/preload`` (never the app's own
modules); the master imports those before it starts workers, at start and on every
reload, and the workers it forks have them already. On a reload it stops the old
workers before it forks the new ones, so that once the new release answers, no request
reaches the old one.

Libraries loaded in the master cannot be swapped for other versions in a running
process, so when a reload finds that the live release has another virtualenv (or other
add-ons) than the master was started with, the master first stops its workers gracefully,
then executes itself afresh under the same process id, keeping its listening sockets:
requests wait in the socket's queue for a moment, none is refused, and systemd sees the
same main process.
"""

import asyncio
import contextlib
import hashlib
import importlib
import os
import signal
import sys
import time
from pathlib import Path

from uvicorn.server import Server
from uvicorn_worker import UvicornWorker

PRELOAD = Path(".provision", "preload")
RECORD = "PROVISION_RECORD_IMPORTS"  # set by the config while a release is being checked


class DrainingServer(Server):
    async def startup(self, sockets=None):
        await super().startup(sockets=sockets)
        if os.environ.get(RECORD):
            record_imports(Path(os.environ[RECORD]))

    def handle_exit(self, sig, frame):
        super().handle_exit(sig, frame)
        # Stop accepting now, not at uvicorn's next tick (up to 0.1 s later): once a
        # reload's new workers answer, no old worker may take a new connection.
        with contextlib.suppress(RuntimeError):  # no loop running yet, or any more
            asyncio.get_running_loop().call_soon_threadsafe(self._stop_accepting)

    def _stop_accepting(self):
        # The listening sockets stop being watched, but stay open until uvicorn's own
        # shutdown: closing them now could catch a connection accepted a moment ago
        # before it is attached, and reset it.
        loop = asyncio.get_running_loop()
        for server in self.servers:
            for sock in server.sockets:
                loop.remove_reader(sock.fileno())

    async def shutdown(self, sockets=None):
        self._stop_accepting()
        await asyncio.sleep(float(os.environ.get("PROVISION_DRAIN_SECONDS", "1")))
        await super().shutdown(sockets=sockets)


class ReleaseHeader:
    """ASGI middleware: name the release in the answer to a request that asks for it."""

    def __init__(self, app, release):
        self.app = app
        self.release = release.encode()

    async def __call__(self, scope, receive, send):
        asked = scope["type"] == "http" and any(
            name == b"x-provision-probe" for name, _ in scope.get("headers", ())
        )
        if not asked or not self.release:
            return await self.app(scope, receive, send)

        async def send_named(message):
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", ()), (b"x-provision-release", self.release)]
                message = {**message, "headers": headers}
            await send(message)

        return await self.app(scope, receive, send_named)


def release_id():
    """The id of the release this worker runs (its directory is the working directory)."""
    try:
        return Path("REVISION").read_text().strip()
    except OSError:
        return ""


class DrainingUvicornWorker(UvicornWorker):
    # asyncio's event loop, even where uvloop is installed (uvicorn[standard] brings it):
    # the drain above stops watching the listening socket, which uvloop's server cannot
    # do, so that its workers took new connections until they closed them (502s).
    CONFIG_KWARGS = {**UvicornWorker.CONFIG_KWARGS, "loop": "asyncio"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Bounded even when no master is left to kill this worker (see restart_in_place).
        self.config.timeout_graceful_shutdown = self.cfg.graceful_timeout

    async def _serve(self):
        self.config.app = ReleaseHeader(self.wsgi, release_id())
        server = DrainingServer(config=self.config)
        self._install_sigquit_handler()
        # uvicorn is given the sockets themselves, not gunicorn's wrappers, so that the
        # loop that closes one closes it once (uvloop closed the descriptor, then the
        # wrapper again: "Error while closing socket [Errno 9] Bad file descriptor").
        await server.serve(sockets=[getattr(s, "sock", s) for s in self.sockets])
        if not server.started:
            from gunicorn.arbiter import Arbiter

            sys.exit(Arbiter.WORKER_BOOT_ERROR)


def record_imports(release):
    """Write the library modules this process imported to ``release/.provision/preload``."""
    app = str(release.resolve()) + os.sep
    names = []
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if path and not name.startswith("__") and not os.path.realpath(path).startswith(app):
            names.append(name)
    target = release / PRELOAD
    aside = target.with_name(f"{target.name}.{os.getpid()}")
    aside.write_text("".join(f"{name}\n" for name in names))
    aside.replace(target)


# The master hooks below are read afresh from the live release on every reload (see
# gunicorn.conf.py), so they never run as an older copy; what they remember of the
# master's start lives on gunicorn's arbiter object, which outlives reloads.
BOOT = "provision_boot"


def _digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def started(server, preload=True):
    """``when_ready``: note what the master runs on, and preload the release's libraries."""
    setattr(server, BOOT, {
        "venv": os.path.realpath(sys.prefix),
        "addons": _digest(Path(server.cfg.chdir, "provision_gunicorn.py")),
    })  # fmt: skip
    if preload:
        preload_libraries(server)


def reloading(server, home, preload=True):
    """``on_reload``, before the new workers are forked. ``home``: the unit's WorkingDirectory.

    The old workers are stopped here, before the new ones exist, rather than just after
    (gunicorn's order): they stop accepting at once, and finish what they accepted, so
    that once the new release answers, it is the only one that does. Connections that
    come in between wait in the socket's queue for the new workers, a few milliseconds.
    """
    why = _why_restart(server)
    if why:
        restart_in_place(server, why, home)
    if preload:
        preload_libraries(server)
    retire_workers(server)


def stop_workers(server):
    for pid in list(server.WORKERS):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)


def retire_workers(server):
    """Stop the workers and forget them: they finish on their own (within graceful_timeout)
    and are reaped as children the master does not know.

    gunicorn's reload otherwise waits, after forking the new workers, until the old ones
    have exited (a second or more, as they drain), and handles no signal meanwhile: a
    reload right after another, such as a rollback of a release that fails once live,
    would wait for it while the failing release serves.
    """
    stop_workers(server)
    for worker in [server.WORKERS.pop(pid) for pid in list(server.WORKERS)]:
        with contextlib.suppress(OSError):
            worker.tmp.close()


def _why_restart(server):
    boot = getattr(server, BOOT, None) or {}
    venv = os.path.realpath(sys.prefix)
    if "venv" not in boot:
        return "this master predates provision's reload hooks"
    if venv != boot["venv"]:
        return f"the live release runs on another virtualenv ({venv})"
    if _digest(Path(server.cfg.chdir, "provision_gunicorn.py")) != boot.get("addons"):
        return "provision's gunicorn add-ons changed"
    return None


def preload_libraries(server):
    try:
        names = Path(server.cfg.chdir, PRELOAD).read_text().split()
    except OSError:
        return  # a release checked before provision recorded its imports
    start = time.monotonic()
    failed = []
    for name in names:
        if name not in sys.modules:
            try:
                importlib.import_module(name)
            except (Exception, SystemExit):  # the worker will import it, or report why
                failed.append(name)
    took = time.monotonic() - start
    note = f"; left to the workers: {' '.join(failed[:5])}" if failed else ""
    server.log.info("preloaded %d library modules in %.2f s%s", len(names), took, note)


def restart_in_place(server, why, home):
    """Stop the workers gracefully and execute a fresh master with the same pid and sockets."""
    # The command line as systemd gave it: gunicorn's own record of it names
    # gunicorn/__main__.py for `python -m gunicorn`, and running that file as a script
    # would put gunicorn's package directory first on sys.path (its `http` would then
    # hide the standard library's).
    argv = Path("/proc/self/cmdline").read_bytes().rstrip(b"\0").split(b"\0")
    env = dict(server.cfg.env_orig)
    env["GUNICORN_PID"] = str(os.getpid())  # makes gunicorn take over GUNICORN_FD's sockets
    env["GUNICORN_FD"] = ",".join(str(listener.fileno()) for listener in server.LISTENERS)
    # Where systemd started it: gunicorn takes its start directory as the default
    # `chdir` and checks it again on every reload, so it must outlive every release.
    os.chdir(home)
    server.log.info("%s: a fresh master takes over (pid %s)", why, os.getpid())
    stop_workers(server)
    try:
        os.execve(argv[0], argv, env)
    except OSError as e:
        server.log.error("could not start a fresh master (%s); reloading in place", e)
