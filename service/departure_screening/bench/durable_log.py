"""The durable baseline's store: each request's bytes appended to SQLite, group-committed.

What every durable screening service must do at the least: a row per request in a
WAL database with ``synchronous=FULL``, acknowledged only once its commit is on
disk, with the requests that arrive while a commit runs sharing the next one. The
processes of one host share the database and queue for it on ``<database>.lock``,
as the service's own SQLite store does.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from dataclasses import dataclass, field


@dataclass
class _Waiter:
    body: bytes
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


class DurableLog:
    """``append`` returns once the bytes are durable; concurrent appends share a commit."""

    def __init__(self, path: str) -> None:
        self._lock_fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        # Used by the writer thread alone once the constructor returns.
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        # One process at a time: two switching a new database to WAL at once had one
        # of them fail at once with "database is locked" (no busy wait for that).
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        try:
            self._db.execute("PRAGMA busy_timeout=30000")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS requests (id INTEGER PRIMARY KEY, body BLOB)"
            )
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        self._pending: list[_Waiter] = []
        self._cond = threading.Condition()
        self._closed = False
        self.commits = 0  # batches committed: fewer than appends when they are shared
        self._writer = threading.Thread(target=self._write, daemon=True, name="durable-log")
        self._writer.start()

    def append(self, body: bytes) -> None:
        waiter = _Waiter(body)
        with self._cond:
            if self._closed:
                raise RuntimeError("the log is closed")
            self._pending.append(waiter)
            self._cond.notify()
        waiter.done.wait()
        if waiter.error is not None:
            raise waiter.error

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._writer.join()
        self._db.close()
        os.close(self._lock_fd)

    def _write(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                if not self._pending:
                    return
                batch, self._pending = self._pending, []
            error = self._commit(batch)  # requests arriving meanwhile wait for the next one
            self.commits += error is None
            for waiter in batch:
                waiter.error = error
                waiter.done.set()

    def _commit(self, batch: list[_Waiter]) -> BaseException | None:
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT INTO requests (body) VALUES (?)", [(w.body,) for w in batch]
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        except Exception as error:  # the batch fails; the log goes on with the next one
            return error
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        return None
