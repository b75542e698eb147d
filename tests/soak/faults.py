"""Faults at random intervals: kill -9 of a replica (started again at once, as a
service manager would) or an immediate PostgreSQL restart (no clean shutdown)."""

from __future__ import annotations

import collections
import random
import threading
import time

from support.postgres import PostgresCluster
from support.servers import ServerProcess


class Faults:
    def __init__(
        self,
        replicas: list[ServerProcess],
        cluster: PostgresCluster,
        *,
        every: tuple[float, float],
        seed: int,
    ) -> None:
        self._replicas = replicas
        self._cluster = cluster
        self._every = every
        self._random = random.Random(seed)
        self._stop = threading.Event()
        self.injected: collections.Counter[str] = collections.Counter()
        self.log: list[str] = []
        self.errors: list[str] = []
        self._thread = threading.Thread(target=self._run, daemon=True, name="soak-faults")

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        started = time.monotonic()
        while not self._stop.wait(self._random.uniform(*self._every)):
            at = time.monotonic() - started
            try:
                if self._random.random() < 0.5:
                    which = self._random.randrange(len(self._replicas))
                    self._replicas[which].kill()  # SIGKILL
                    self.injected["replica kill -9"] += 1
                    self.log.append(f"{at:7.1f}s kill -9 replica {which}")
                    time.sleep(self._random.uniform(0.5, 3.0))
                    self._replicas[which].start(timeout=60)
                else:
                    self._cluster.stop("immediate")
                    self.injected["PostgreSQL restart"] += 1
                    self.log.append(f"{at:7.1f}s PostgreSQL stopped (immediate)")
                    time.sleep(self._random.uniform(0.5, 3.0))
                    self._cluster.start()
            except Exception as error:  # noted, and the soak goes on: it is reported
                self.errors.append(f"{at:7.1f}s {type(error).__name__}: {error}")
                if not self._cluster.running:
                    self._cluster.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(120)
