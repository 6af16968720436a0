"""The TCP connection under SSH: requests and acknowledgements sent at once; a proxy of
~/.ssh/config still used."""

import socket
import threading

import paramiko
import pytest
from fabric import Config

from provision.core.transport import ConnectError, Session, Target, dial
from tests.helpers import CountingPort

ROUNDS = 5


def answering_peer():
    """A loopback port whose one connection sends a little and waits for an answer, as a
    server does, ``ROUNDS`` times."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def serve():
        conn, _ = server.accept()
        with conn:
            for _ in range(ROUNDS):
                conn.sendall(b"hello")
                conn.recv(16)
        server.close()

    threading.Thread(target=serve, daemon=True).start()
    return server.getsockname()[1]


def exchange(sock):
    for _ in range(ROUNDS):
        assert sock.recv(16) == b"hello"
        sock.send(b"ok")  # as paramiko sends


@pytest.mark.skipif(not hasattr(socket, "TCP_QUICKACK"), reason="Linux's TCP_QUICKACK")
def test_the_socket_under_ssh_sends_and_acknowledges_at_once():
    plain = socket.create_connection(("127.0.0.1", answering_peer()), 5)
    with plain:
        exchange(plain)
        # what a socket falls into once it answers what it receives: delayed ACKs
        assert plain.getsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK) == 0

    sock = dial("127.0.0.1", answering_peer(), 5)
    with sock:
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        assert sock.gettimeout() == 5
        exchange(sock)
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK) == 1
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1


def test_a_host_behind_a_proxy_command_is_not_dialled_directly():
    port = CountingPort()
    try:
        config = Config(ssh_config=paramiko.SSHConfig.from_text("Host *\n  ProxyCommand false\n"))
        session = Session(Target("web1", "127.0.0.1", port=port.port), config)
        with pytest.raises(ConnectError, match=r"web1: cannot connect to root@127\.0\.0\.1"):
            session.open()
        assert port.visits == 0
    finally:
        port.close()
