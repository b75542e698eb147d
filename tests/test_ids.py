"""Assessment ids: unique, in the order they were made, and not repeated by a fork."""

from __future__ import annotations

import os
import re
import threading
import time

from departure_screening.ids import IdSource

UUID7 = re.compile(r"[0-9a-f]{12}7[0-9a-f]{3}[89ab][0-9a-f]{15}")


def test_ids_have_the_uuid7_layout_and_never_repeat_across_threads() -> None:
    source = IdSource()
    made: list[list[str]] = [[] for _ in range(8)]

    def make(i: int) -> None:
        made[i].extend(source() for _ in range(20_000))

    threads = [threading.Thread(target=make, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [i for part in made for i in part]
    assert len(set(ids)) == len(ids) == 160_000
    assert all(UUID7.fullmatch(i) for i in ids)


def test_an_id_made_in_a_later_millisecond_sorts_after() -> None:
    source = IdSource()
    earlier = [source() for _ in range(100)]
    time.sleep(0.002)
    later = [source() for _ in range(100)]
    assert max(earlier) < min(later)
    millis = int(later[0][:12], 16)
    assert abs(millis - time.time_ns() // 1_000_000) < 60_000


def test_a_forked_child_makes_ids_its_parent_does_not() -> None:
    source = IdSource()
    source()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next ids and leave at once
        os.write(write, " ".join(source() for _ in range(50)).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child = pipe.read().split()
    os.waitpid(pid, 0)
    parent = [source() for _ in range(50)]
    assert len(child) == 50
    # Same counter values, different key: the random parts differ.
    assert {c[13:] for c in child}.isdisjoint(p[13:] for p in parent)
