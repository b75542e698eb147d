"""The counter drill, driven through its prompts with a stand-in for the service."""

from __future__ import annotations

import io

import pytest
from departure_screening.exercise.drill import (
    DrillSummary,
    ScreenRejected,
    choose_presented,
    run_drill,
)
from departure_screening.exercise.generate import GeneratedTraveller, generate
from departure_screening.exercise.scenario import Scenario
from departure_screening.v1 import screening_pb2 as pb
from rich.console import Console


class FakeService:
    """Flags every trip to Cambodia, like a one-rule ruleset; records what it was asked."""

    def __init__(self, decision_failure: str = "", reject: frozenset[str] = frozenset()) -> None:
        self.screened: list[str] = []
        self.decisions: list[tuple[str, str]] = []
        self.decision_failure = decision_failure
        self.reject = reject

    def screen(self, screening: pb.Screening) -> pb.Assessment:
        self.screened.append(screening.request_id)
        if screening.request_id in self.reject:
            raise ScreenRejected("INVALID_ARGUMENT: screening.trip.flight_number")
        flagged = screening.trip.destination_country == "KH"
        indicators = (
            [
                pb.FiredIndicator(
                    code="DESTINATION_WATCHLIST",
                    weight=40,
                    title="Destination or transit on the watch-list",
                    remedy="Itinerary, accommodation booking and return ticket.",
                )
            ]
            if flagged
            else []
        )
        return pb.Assessment(
            assessment_id=f"a-{screening.request_id}",
            request_id=screening.request_id,
            mode=pb.MODE_TRAINING,
            score=40 if flagged else 0,
            band=pb.RISK_BAND_ELEVATED if flagged else pb.RISK_BAND_LOW,
            recommended_action=pb.ACTION_SECONDARY_INTERVIEW if flagged else pb.ACTION_PROCEED,
            indicators=indicators,
        )

    def record_decision(self, assessment_id: str, decision: str) -> str:
        self.decisions.append((assessment_id, decision))
        return self.decision_failure


def _console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=100, color_system=None, highlight=False), out


def _drill(
    travellers: list[GeneratedTraveller],
    scenario: Scenario,
    presented: list[int],
    answers: str,
    service: FakeService | None = None,
) -> tuple[DrillSummary, str, FakeService]:
    service = service or FakeService()
    console, out = _console()
    summary = run_drill(
        travellers,
        service,
        presented=presented,
        scenario=scenario,
        input_stream=io.StringIO(answers),
        console=console,
    )
    return summary, out.getvalue(), service


@pytest.fixture
def travellers(small_scenario: Scenario) -> list[GeneratedTraveller]:
    return generate(small_scenario, 21)


def test_choose_presented_mixes_planted_and_genuine(
    travellers: list[GeneratedTraveller],
) -> None:
    chosen = choose_presented(travellers, 10, seed=4)
    assert chosen == sorted(set(chosen)) and len(chosen) == 10
    assert chosen == choose_presented(travellers, 10, seed=4)
    truths = [travellers[i].truth for i in chosen]
    assert sum(t.planted for t in truths) == 5
    assert not any(t.decision for t in truths), "scripted history is never presented"
    assert len({t.case for t in truths if t.planted}) >= 4, "one case after another"


def test_a_full_session(small_scenario: Scenario, travellers: list[GeneratedTraveller]) -> None:
    presented = choose_presented(travellers, 4, seed=1)
    summary, text, service = _drill(travellers, small_scenario, presented, "1\n2\n3\n1\n")
    assert "You are the immigration officer at the departure counter" in text
    assert "1  proceed" in text and "q  quit" in text
    for turn in range(1, 5):
        assert f"Traveller {turn} of 4" in text
    assert text.count("Service's assessment:") == 4
    assert text.count("Ground truth:") == 4
    assert "Your score" in text
    assert summary.answered == 4 and not summary.quit_early
    # Everything up to the last presented traveller is screened once, in order.
    last = presented[-1]
    assert service.screened == [item.screening.request_id for item in travellers[: last + 1]]
    # Scripted decisions of the history were recorded on the way.
    expected = [
        (f"a-{item.screening.request_id}", item.truth.decision)
        for item in travellers[:last]
        if item.truth.decision
    ]
    assert service.decisions == expected
    # Passports are masked on screen.
    for i in presented:
        assert travellers[i].screening.traveller.passport_number not in text


def test_scores_against_service_and_truth(
    small_scenario: Scenario, travellers: list[GeneratedTraveller]
) -> None:
    presented = choose_presented(travellers, 6, seed=2)
    # The right answer for each: 2 for the at-risk, 1 for the genuine.
    answers = "".join("2\n" if travellers[i].truth.at_risk else "1\n" for i in presented)
    summary, text, _ = _drill(travellers, small_scenario, presented, answers)
    assert summary.answered == 6
    assert summary.correct_truth == 6
    assert summary.at_risk_stopped == summary.at_risk_seen
    assert summary.genuine_cleared == summary.genuine_seen
    service_flags = [travellers[i].screening.trip.destination_country == "KH" for i in presented]
    expected_match = sum(
        1
        for i, flag in zip(presented, service_flags, strict=True)
        if flag == travellers[i].truth.at_risk
    )
    assert summary.matched_service == expected_match
    assert "Against the ground truth: 6 of 6 (100 %) right" in text


def test_invalid_input_prompts_again(
    small_scenario: Scenario, travellers: list[GeneratedTraveller]
) -> None:
    presented = choose_presented(travellers, 3, seed=1)
    summary, text, _ = _drill(travellers, small_scenario, presented, "x\n\n5\n2\nq\n")
    assert "'x' is not a choice" in text
    assert "'5' is not a choice" in text
    assert text.count("Please type 1, 2, 3 or q") == 3
    assert text.count("Your action?") == 5
    assert summary.answered == 1
    assert summary.quit_early
    assert "You stopped after 1 of 3 travellers." in text


def test_quit_at_once(small_scenario: Scenario, travellers: list[GeneratedTraveller]) -> None:
    presented = choose_presented(travellers, 3, seed=1)
    summary, text, _ = _drill(travellers, small_scenario, presented, "q\n")
    assert summary.quit_early and summary.answered == 0
    assert "No traveller was assessed" in text


def test_end_of_input_stops_the_drill(
    small_scenario: Scenario, travellers: list[GeneratedTraveller]
) -> None:
    presented = choose_presented(travellers, 3, seed=1)
    summary, text, _ = _drill(travellers, small_scenario, presented, "3\n")
    assert summary.answered == 1 and summary.quit_early
    assert "end of input" in text


def test_decisions_that_cannot_be_recorded_are_explained(
    small_scenario: Scenario, travellers: list[GeneratedTraveller]
) -> None:
    last_retry = max(i for i, item in enumerate(travellers) if item.truth.decision)
    presented = [i for i in choose_presented(travellers, 10, seed=1) if i > last_retry][:1]
    assert presented, "a traveller after the history"
    failing = FakeService(decision_failure="the server does not implement RecordDecision")
    summary, text, _ = _drill(travellers, small_scenario, presented, "1\n", failing)
    assert summary.answered == 1
    assert text.count("Earlier decisions could not be recorded") == 1


def test_a_rejected_screening_is_not_scored(
    small_scenario: Scenario, travellers: list[GeneratedTraveller]
) -> None:
    presented = choose_presented(travellers, 2, seed=1)
    rejected = frozenset({travellers[presented[0]].screening.request_id})
    summary, text, _ = _drill(
        travellers, small_scenario, presented, "1\n1\n", FakeService(reject=rejected)
    )
    assert summary.rejected == 1 and summary.answered == 1
    assert "The service rejected this screening" in text
