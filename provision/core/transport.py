"""SSH to one host through Fabric, with a bounded connect time and a round-trip count."""

from __future__ import annotations

import logging
import select
import socket
from dataclasses import dataclass, field
from typing import Any

import paramiko
from fabric import Config, Connection

from provision.core.command import as_root
from provision.core.errors import ProvisionError
from provision.core.hostkeys import HostKeyCheck, HostKeyError

CONNECT_TIMEOUT = 8.0
HANDSHAKE_TIMEOUT = 5.0

# paramiko logs a traceback for every failed handshake; ConnectError says it in one line.
logging.getLogger("paramiko").addHandler(logging.NullHandler())


@dataclass(frozen=True)
class Target:
    """One host to act on: how to reach it and its own vars (before role defaults)."""

    name: str
    address: str
    user: str = "root"
    port: int = 22
    key: str | None = None
    vars: dict[str, Any] = field(default_factory=dict, compare=False)
    # how its SSH host key is checked; by default strictly, against ~/.ssh/known_hosts
    host_keys: HostKeyCheck = field(default_factory=HostKeyCheck, compare=False)
    # the apps it runs, each with its own vars (before role defaults), when the inventory
    # names several; empty for one app, whose vars are ``vars``
    apps: dict[str, dict[str, Any]] = field(default_factory=dict, compare=False)
    # the one app of ``apps`` this target's command is for ("": the server, every app)
    app: str = field(default="", compare=False)

    def __str__(self) -> str:
        return f"{self.user}@{self.address}:{self.port}"


class ConnectError(ProvisionError):
    """The host could not be reached or refused us; the message names the host."""


class HostKeyRefused(ConnectError):
    """The host's key is not the one recorded (or, checking strictly, none is): nothing
    was sent to it."""


@dataclass(frozen=True)
class Result:
    rc: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.rc == 0


class Session:
    """An open SSH connection to one host. Not thread-safe: one per host per thread.

    Example::

        with Session(target) as s:
            print(s.run_as_root("nproc").stdout)
    """

    def __init__(self, target: Target, config: Config | None = None) -> None:
        self.target = target
        self.round_trips = 0
        kwargs: dict[str, Any] = {
            "banner_timeout": HANDSHAKE_TIMEOUT,
            "auth_timeout": HANDSHAKE_TIMEOUT,
        }
        if target.key:
            kwargs.update(key_filename=[target.key], look_for_keys=False, allow_agent=False)
        self._conn = Connection(
            host=target.address,
            user=target.user,
            port=target.port,
            connect_timeout=CONNECT_TIMEOUT,
            connect_kwargs=kwargs,
            config=config,
        )

    def __enter__(self) -> Session:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        t = self.target
        where = str(t)
        t.host_keys.prepare(self._conn.client, t.address, t.port)
        conn = self._conn
        try:
            if not conn.gateway:  # a ProxyJump or ProxyCommand of ~/.ssh/config makes its own
                conn.connect_kwargs["sock"] = dial(conn.host, conn.port, conn.connect_timeout)
            conn.open()
        except HostKeyError as e:
            raise HostKeyRefused(f"{t.name}: {e}") from e
        except paramiko.BadHostKeyException as e:
            changed = t.host_keys.changed(t.address, t.port, e.key)
            raise HostKeyRefused(f"{t.name}: {changed}") from e
        except paramiko.AuthenticationException as e:
            raise ConnectError(
                f"{t.name}: {where}: SSH authentication failed "
                "(key refused, or this user may not log in)"
            ) from e
        except TimeoutError as e:
            raise ConnectError(f"{t.name}: {where} did not answer in time") from e
        except (OSError, paramiko.SSHException, EOFError) as e:
            raise ConnectError(f"{t.name}: cannot connect to {where}: {_reason(e)}") from e
        finally:
            dialled = conn.connect_kwargs.pop("sock", None)
            if dialled is not None and not conn.is_connected:
                dialled.close()

    def close(self) -> None:
        self._conn.close()

    def run(self, text: str, stdin: bytes | None = None) -> Result:
        """Run one command line on the host and wait for it: one round trip."""
        chan = self._exec(text)
        try:
            if stdin:
                send_all(chan, stdin)
            chan.shutdown_write()
            out, err = _drain(chan)
            return Result(chan.recv_exit_status(), out, err)
        except (OSError, EOFError, paramiko.SSHException) as e:
            raise ConnectError(f"{self.target.name}: the SSH connection was lost ({e})") from e
        finally:
            chan.close()

    def run_as_root(self, text: str, stdin: bytes | None = None) -> Result:
        return self.run(as_root(text, self.target.user), stdin)

    def interact(self, text: str, tty: bool = False) -> int:
        """Run ``text`` as root with its output streamed to this terminal as it comes (and
        with ``tty``, a terminal on the host that this one's keys reach); its exit status.
        """
        try:
            result = self._conn.run(as_root(text, self.target.user), pty=tty, warn=True,
                                    hide=False, in_stream=None if tty else False)  # fmt: skip
        except (OSError, EOFError, paramiko.SSHException) as e:
            raise ConnectError(f"{self.target.name}: the SSH connection was lost ({e})") from e
        self.round_trips += 1
        return result.exited

    def start_as_root(self, text: str) -> paramiko.Channel:
        """Start a command that runs for as long as its channel stays open (see ``lock``)."""
        return self._exec(as_root(text, self.target.user))

    def _exec(self, text: str) -> paramiko.Channel:
        """A new channel running ``text``: one round trip; a dead connection says so."""
        transport = self._conn.client.get_transport()
        if transport is None or not transport.is_active():
            raise ConnectError(f"{self.target.name}: the SSH connection was lost")
        self.round_trips += 1
        chan = None
        try:
            chan = transport.open_session()
            chan.exec_command(text)
        except (OSError, EOFError, paramiko.SSHException) as e:
            if chan is not None:
                chan.close()
            raise ConnectError(f"{self.target.name}: the SSH connection was lost ({e})") from e
        return chan


def send_all(chan: paramiko.Channel, data: bytes, packet: int = 1 << 15) -> None:
    """``data`` sent whole, a packet at a time. Not ``Channel.sendall``: it copies the rest
    of the data after each packet, which took 0.3 s of an 18 MB upload (uv) on a test host.
    """
    view = memoryview(data)
    while view:
        sent = chan.send(view[:packet].tobytes())
        if not sent:
            raise OSError("the channel closed before it took all its input")
        view = view[sent:]


QUICKACK = getattr(socket, "TCP_QUICKACK", None)  # Linux only


class Prompt(socket.socket):
    """A TCP socket for SSH's small requests and answers, each sent and acknowledged at once.

    A request waits on no acknowledgement (``TCP_NODELAY``): without it, the handshake
    stalls 40 ms, the peer's delayed ACK, once or twice. And each of its sends turns
    delayed acknowledgements off again (Linux's ``TCP_QUICKACK``, which the kernel turns
    back on when this side answers what it received): a server sends its first packets
    after logging in (OpenSSH: its host keys, a debug line, then the answer to the first
    channel) before it turns its own ``TCP_NODELAY`` on, so each waited for this side's
    delayed ACK, and the first command of every connection took 40 ms more.
    """

    def send(self, data: Any, flags: int = 0) -> int:
        sent = super().send(data, flags)
        if QUICKACK is not None:
            self.setsockopt(socket.IPPROTO_TCP, QUICKACK, 1)
        return sent


def dial(host: str, port: int, timeout: float | None) -> Prompt:
    """A TCP connection to ``host``, for paramiko to speak SSH over."""
    timeout = timeout or CONNECT_TIMEOUT
    raw = socket.create_connection((host, port), timeout)
    sock = Prompt(fileno=raw.detach())
    sock.settimeout(timeout)  # as the socket it was (paramiko sets its own)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _drain(chan: paramiko.Channel) -> tuple[str, str]:
    out: list[bytes] = []
    err: list[bytes] = []
    while True:
        select.select([chan], [], [], 1.0)
        while chan.recv_ready():
            out.append(chan.recv(65536))
        while chan.recv_stderr_ready():
            err.append(chan.recv_stderr(65536))
        drained = not chan.recv_ready() and not chan.recv_stderr_ready()
        if drained and chan.exit_status_ready() and (chan.eof_received or chan.closed):
            break
    return b"".join(out).decode(errors="replace"), b"".join(err).decode(errors="replace")


def _reason(e: BaseException) -> str:
    if isinstance(e, (paramiko.ssh_exception.NoValidConnectionsError, ConnectionRefusedError)):
        return "connection refused"
    if "banner" in str(e):
        return f"no SSH answer within {HANDSHAKE_TIMEOUT:.0f} s"
    return str(e) or type(e).__name__
