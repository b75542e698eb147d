"""sd_notify: the messages a real unix datagram socket receives, in and out of the server."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from departure_screening.serving.notify import notify, start_watchdog, watchdog_seconds
from support.servers import ServerProcess


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = str(tmp_path / "notify")
    sock.bind(path)
    sock.settimeout(10)
    yield sock, path
    sock.close()


def received(sock: socket.socket) -> str:
    return sock.recv(4096).decode()


def test_sends_to_a_path(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    assert notify("READY=1", {"NOTIFY_SOCKET": path})
    assert received(sock) == "READY=1"


def test_sends_to_the_abstract_namespace() -> None:
    name = f"depscreen-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(10)
        assert notify("STOPPING=1", {"NOTIFY_SOCKET": "@" + name})
        assert received(sock) == "STOPPING=1"


def test_nothing_without_a_socket_and_no_failure_when_it_is_gone(tmp_path: Path) -> None:
    assert not notify("READY=1", {})
    assert not notify("READY=1", {"NOTIFY_SOCKET": str(tmp_path / "missing")})


def test_watchdog_interval_is_half_of_watchdog_usec() -> None:
    assert watchdog_seconds({"WATCHDOG_USEC": "3000000"}) == 1.5
    assert watchdog_seconds({}) is None
    assert watchdog_seconds({"WATCHDOG_USEC": "0"}) is None
    # Meant for another process (one that passed its environment on).
    assert watchdog_seconds({"WATCHDOG_USEC": "3000000", "WATCHDOG_PID": "1"}) is None


def test_watchdog_pings_only_while_healthy(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    healthy = threading.Event()
    healthy.set()
    stop = threading.Event()
    env = {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "100000"}
    assert start_watchdog(healthy.is_set, stop, env) is not None
    assert received(sock) == "WATCHDOG=1"
    healthy.clear()
    time.sleep(0.2)  # a ping already on its way may still arrive
    sock.setblocking(False)
    while True:
        try:
            sock.recv(4096)
        except BlockingIOError:
            break
    time.sleep(0.3)
    with pytest.raises(BlockingIOError):
        sock.recv(4096)
    stop.set()


@pytest.mark.parametrize("processes", [1, 2])
def test_server_says_ready_watchdog_and_stopping(
    listener: tuple[socket.socket, str], tmp_path: Path, processes: int
) -> None:
    sock, path = listener
    server = ServerProcess(
        store=f"sqlite:///{tmp_path / 'depscreen.db'}",
        extra_args=["--processes", str(processes)],
        env={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "400000"},
    )
    with server:
        messages = [received(sock) for _ in range(3)]
        assert messages[0] == "READY=1"
        assert messages[1:] == ["WATCHDOG=1", "WATCHDOG=1"]
        assert server.terminate() == 0
    rest = []
    sock.settimeout(1)
    try:
        while True:
            rest.append(received(sock))
    except TimeoutError:
        pass
    # Watchdog pings may come before it, nothing else.
    assert "STOPPING=1" in rest
    assert set(rest) <= {"STOPPING=1", "WATCHDOG=1"}
