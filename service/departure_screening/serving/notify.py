"""systemd's readiness protocol (sd_notify), without a library.

A unit of ``Type=notify`` gives the service ``$NOTIFY_SOCKET``, a unix datagram socket
(a leading ``@`` names one in the abstract namespace). The server sends ``READY=1``
once it is SERVING, ``STOPPING=1`` when it starts draining, and, when the unit sets
``WatchdogSec=`` (systemd then passes ``$WATCHDOG_USEC``), ``WATCHDOG=1`` at half that
interval while it is healthy, so systemd restarts a server that hangs or loses its store.
Outside systemd the variable is unset and every call does nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)


def notify(state: str, environ: Mapping[str, str] | None = None) -> bool:
    """Send ``state`` (e.g. ``"READY=1"``) to the service manager; False when there is none."""
    env = os.environ if environ is None else environ
    path = env.get("NOTIFY_SOCKET", "")
    if not path:
        return False
    address = "\0" + path[1:] if path.startswith("@") else path
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto(state.encode(), address)
    except OSError as exc:
        # The service keeps serving; systemd times it out if READY=1 never arrives.
        log.warning("cannot notify the service manager at %s: %s", path, exc)
        return False
    return True


def watchdog_seconds(environ: Mapping[str, str] | None = None) -> float | None:
    """How often to send ``WATCHDOG=1``: half of ``$WATCHDOG_USEC``, or None without one."""
    env = os.environ if environ is None else environ
    usec = env.get("WATCHDOG_USEC", "")
    # WATCHDOG_PID, when set, names the process meant (not a child that inherited it).
    pid = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0 or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 2e6


def start_watchdog(
    healthy: Callable[[], bool], stop: threading.Event, environ: Mapping[str, str] | None = None
) -> threading.Thread | None:
    """Send ``WATCHDOG=1`` periodically while ``healthy()`` until ``stop`` is set."""
    interval = watchdog_seconds(environ)
    if interval is None:
        return None

    def run() -> None:
        while not stop.wait(interval):
            if healthy():
                notify("WATCHDOG=1", environ)

    thread = threading.Thread(target=run, daemon=True, name="watchdog")
    thread.start()
    return thread
