"""The bench measures the service and the baselines in alternating slices (pure logic)."""

from __future__ import annotations

import time

import pytest
from departure_screening.access.client import ClientCredentials
from departure_screening.bench.children import Child
from departure_screening.bench.phases import Traffic, in_turn, in_turn_costed, replay_in_turn


def test_slices_alternate_abba_and_each_rate_is_the_mean_of_its_slices() -> None:
    service, baseline = Child([], "service"), Child([], "baseline")
    calls: list[tuple[str, float]] = []
    rates = {
        "service": iter([100.0, 200.0, 300.0, 400.0]),
        "baseline": iter([10.0, 20.0, 30.0, 60.0]),
    }

    def measure(target: str, seconds: float, traffic: Traffic, _: ClientCredentials) -> float:
        calls.append((target, seconds))
        return next(rates[target])

    result = in_turn(measure, [service, baseline], 8.0, Traffic("t"), slices=4)

    assert [target for target, _ in calls] == [
        "service", "baseline", "baseline", "service", "service", "baseline", "baseline", "service",
    ]  # fmt: skip
    assert all(seconds == 2.0 for _, seconds in calls)
    assert result == [250.0, 30.0]


def test_a_host_that_slows_down_midway_leaves_the_ratio_alone() -> None:
    """Both servers cost the same; the host runs at half speed for the second half."""
    service, baseline = Child([], "service"), Child([], "baseline")
    elapsed = 0.0

    def measure(target: str, seconds: float, traffic: Traffic, _: ClientCredentials) -> float:
        nonlocal elapsed
        speed = 1.0 if elapsed < 8.0 else 0.5
        elapsed += seconds
        return 1000.0 * speed

    s_rate, b_rate = in_turn(measure, [service, baseline], 8.0, Traffic("t"), slices=4)
    assert s_rate == b_rate == 750.0


def test_three_servers_take_turns_forward_then_backward() -> None:
    children = [Child([], name) for name in ("service", "transport", "durable")]
    calls: list[str] = []

    def measure(target: str, seconds: float, traffic: Traffic, _: ClientCredentials) -> float:
        calls.append(target)
        return {"service": 1.0, "transport": 2.0, "durable": 3.0}[target]

    rates = in_turn(measure, children, 6.0, Traffic("t"), slices=2)
    assert calls == ["service", "transport", "durable", "durable", "transport", "service"]
    assert rates == [1.0, 2.0, 3.0]


class _Metered(Child):
    """A child whose processes spend ``cost`` CPU seconds per call it answers."""

    def __init__(self, target: str, cost: float) -> None:
        super().__init__([], target)
        self.cost = cost
        self.spent = 0.0

    def cpu_seconds(self) -> float:
        return self.spent


def test_cpu_per_call_is_the_cpu_of_each_servers_own_slices() -> None:
    cheap, dear = _Metered("cheap", 0.0005), _Metered("dear", 0.002)
    children = {"cheap": cheap, "dear": dear}

    def measure(target: str, seconds: float, traffic: Traffic, _: ClientCredentials) -> float:
        child = children[target]
        rate = 1000.0
        time.sleep(seconds)
        child.spent += rate * seconds * child.cost
        return rate

    result = in_turn_costed(measure, [cheap, dear], 0.2, Traffic("t"), slices=2)
    assert [r.rate for r in result] == [1000.0, 1000.0]
    # The calls are counted over each slice's whole time, a little more than
    # ``seconds``: the figure may come out a little low, never high.
    assert 400 < result[0].cpu_us_per_call <= 500
    assert 1600 < result[1].cpu_us_per_call <= 2000


def test_a_replay_is_split_into_parts_taken_in_turn_and_its_times_added() -> None:
    service, durable = _Metered("service", 0.002), _Metered("durable", 0.001)
    children = {"service": service, "durable": durable}
    calls: list[tuple[str, int]] = []

    def replay(target: str, screenings: int, traffic: Traffic) -> float:
        calls.append((target, screenings))
        children[target].spent += screenings * children[target].cost
        return screenings * {"service": 0.004, "durable": 0.002}[target]

    on_service, on_durable = replay_in_turn(replay, [service, durable], 10, Traffic("t"), slices=4)

    assert calls == [
        ("service", 3), ("durable", 3), ("durable", 3), ("service", 3),
        ("service", 2), ("durable", 2), ("durable", 2), ("service", 2),
    ]  # fmt: skip
    # Every screening replayed on each, and each server's CPU counted in its own parts.
    assert on_service.seconds == pytest.approx(0.04)
    assert on_durable.seconds == pytest.approx(0.02)
    assert on_service.server_cpu_seconds == pytest.approx(0.02)
    assert on_durable.server_cpu_seconds == pytest.approx(0.01)
    assert on_service.client_cpu_seconds >= 0 and on_durable.client_cpu_seconds >= 0
