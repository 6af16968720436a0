"""The TCP connection under SSH: requests and acknowledgements sent at once; a proxy of
~/.ssh/config still used; a command's input sent a packet at a time."""

import socket
import threading

import paramiko
import pytest
from fabric import Config

from provision.core.transport import ConnectError, Session, Target, dial, send_all
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


class Channel:
    """As paramiko's: ``send`` takes what its window allows and says how much."""

    def __init__(self, window):
        self.window, self.got, self.offered = window, bytearray(), []

    def send(self, data):
        self.offered.append(len(data))
        taken = data[: self.window]
        self.got += taken
        return len(taken)


def test_a_commands_input_goes_whole_and_is_never_copied_beyond_a_packet():
    data = bytes(range(256)) * 1000  # 256 kB
    chan = Channel(window=10_000)  # less than a packet, as a window that fills up
    send_all(chan, data, packet=1 << 15)
    assert bytes(chan.got) == data
    # each call is handed one packet at most, not the rest of the data (which
    # Channel.sendall copies at every packet: quadratic in the input's size)
    assert max(chan.offered) == 1 << 15 and len(chan.offered) == -(-len(data) // 10_000)


def test_a_channel_that_takes_nothing_more_is_an_error_not_a_loop():
    with pytest.raises(OSError, match="closed"):
        send_all(Channel(window=0), b"data")
