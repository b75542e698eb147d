"""The `exercise` command line without a server: list, generate, argument errors."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pytest
from departure_screening.exercise.cli import add_exercise_parser, main
from departure_screening.exercise.generate import generate
from departure_screening.exercise.run import ExerciseError, run_exercise
from departure_screening.exercise.scenario import load_scenario


def test_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    names = [line.split()[0] for line in lines]
    assert {"cambodia-scam-recruitment", "festival-event-group", "ordinary-day-cgk"} <= set(names)
    assert all(len(line.split(maxsplit=1)) == 2 for line in lines), "name and description"


def test_generate_to_stdout_is_deterministic(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["generate", "--scenario", "ordinary-day-cgk", "--seed", "5", "--travellers", "80"]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert main([*args, "--format", "jsonl"]) == 0
    assert capsys.readouterr().out == first
    lines = first.splitlines()
    assert len(lines) == 80
    records = [json.loads(line) for line in lines]
    assert all(set(r) == {"screening", "truth"} for r in records)
    assert all(r["screening"]["mode"] == "MODE_TRAINING" for r in records)
    assert any(r["truth"]["at_risk"] for r in records)
    assert {"at_risk", "case"} <= set(records[0]["truth"])


def test_generate_to_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sub" / "ex.jsonl"
    code = main(
        ["generate", "--scenario", "festival-event-group", "--seed", "1", "--out", str(out)]
    )
    assert code == 0
    assert capsys.readouterr().out == ""
    assert len(out.read_text().splitlines()) == load_scenario("festival-event-group").travellers


def test_generate_from_a_scenario_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from exercise.exercise_helpers import scenario_text, small_raw

    path = tmp_path / "mine.yaml"
    path.write_text(scenario_text(small_raw()))
    assert main(["generate", "--scenario", str(path), "--seed", "2"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 120


def test_bad_scenario_exits_2_with_the_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("schema: 1\nname: bad\n")
    assert main(["generate", "--scenario", str(path), "--seed", "1"]) == 2
    err = capsys.readouterr().err
    assert "description: required" in err and "population: required" in err
    assert main(["generate", "--scenario", "nope", "--seed", "1"]) == 2
    assert "no bundled scenario" in capsys.readouterr().err


def test_too_few_travellers_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["generate", "--scenario", "festival-event-group", "--seed", "1", "--travellers", "9"]
    assert main(args) == 2
    assert "too few" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["generate", "--scenario", "ordinary-day-cgk"],
        ["generate", "--scenario", "ordinary-day-cgk", "--seed", "-1"],
        ["generate", "--scenario", "ordinary-day-cgk", "--seed", "x"],
        ["generate", "--scenario", "ordinary-day-cgk", "--seed", "1", "--travellers", "0"],
        ["generate", "--scenario", "ordinary-day-cgk", "--seed", "1", "--format", "csv"],
        ["run", "--scenario", "ordinary-day-cgk", "--seed", "1"],
        ["drill", "--scenario", "ordinary-day-cgk"],
        ["drill", "--scenario", "ordinary-day-cgk", "--trainee", "Siti Rahma"],
        ["drill", "--scenario", "ordinary-day-cgk", "--trainee", "Budi"],
        ["class-report", "d"],
        ["class-report", "--out", "o"],
    ],
)
def test_argument_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    capsys.readouterr()


def test_add_exercise_parser_registers_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="depscreen")
    add_exercise_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        ["exercise", "run", "--scenario", "x", "--seed", "1", "--target", "h:1", "--out", "d"]
    )
    assert callable(args.func) and args.target == "h:1" and args.out == Path("d")
    drill = parser.parse_args(["exercise", "drill", "--scenario", "x", "--trainee", "T07"])
    assert drill.seed == 1 and drill.travellers is None and drill.target == "127.0.0.1:50051"
    assert drill.trainee == "T07" and drill.out is None
    klass = parser.parse_args(["exercise", "class-report", "a", "b", "--out", "c"])
    assert klass.dirs == [Path("a"), Path("b")] and klass.out == Path("c")
    for command in ("list", "generate", "run", "drill", "class-report"):
        assert callable(parser.parse_args(["exercise", command, *_minimal(command)]).func)
    bare = parser.parse_args(["exercise"])
    assert bare.func(bare) == 2
    assert "generate" in capsys.readouterr().err


def _minimal(command: str) -> list[str]:
    return {
        "list": [],
        "generate": ["--scenario", "x", "--seed", "1"],
        "run": ["--scenario", "x", "--seed", "1", "--out", "d"],
        "drill": ["--scenario", "x", "--trainee", "T1"],
        "class-report": ["d", "--out", "o"],
    }[command]


def test_depscreen_command_line_has_exercise() -> None:
    from departure_screening.cli import build_parser

    args = build_parser().parse_args(["exercise", "list"])
    assert callable(args.func)


def test_unreachable_server_is_a_clear_error() -> None:
    travellers = generate(load_scenario("ordinary-day-cgk"), 1, travellers=40)
    started = time.monotonic()
    with pytest.raises(
        ExerciseError, match=r"cannot reach the screening service at 127\.0\.0\.1:9"
    ):
        run_exercise(travellers, "127.0.0.1:9", progress=False, connect_timeout=0.5)
    assert time.monotonic() - started < 10
