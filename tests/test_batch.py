"""The resumable JSON-lines mapper: a kill at any moment resumes, failures are retried, the output
is whole or absent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medllm.batch import map_jsonl, partial_path


class Killed(Exception):
    pass


def upper(batch: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"out": text.upper()} for _, text in batch]


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


ITEMS = [("a", "x"), ("b", "y"), ("a", "z"), ("c", "w")]  # ids may repeat: one line per input


def test_a_killed_run_resumes_and_the_output_appears_only_when_done(tmp_path: Path) -> None:
    out = tmp_path / "sub" / "out.jsonl"

    def kill_at_three(handled: int, total: int) -> None:
        if handled == 3:
            raise Killed

    with pytest.raises(Killed):
        map_jsonl(ITEMS, out, upper, progress=kill_at_three)
    assert not out.exists()
    part = partial_path(out)
    assert [r["id"] for r in lines(part)] == ["a", "b", "a"]
    part.write_text(part.read_text() + '{"id": "c", "ou')  # and a torn line, as a kill mid-write leaves
    seen: list[tuple[int, int]] = []
    rep = map_jsonl(ITEMS, out, upper, progress=lambda h, t: seen.append((h, t)))
    assert (rep.written, len(rep.resumed), rep.failed) == (1, 3, [])
    assert [(r["id"], r["out"]) for r in lines(out)] == [("a", "X"), ("b", "Y"), ("a", "Z"), ("c", "W")]
    assert not part.exists() and seen[0] == (0, 4) and seen[-1] == (4, 4)
    # finished: a rerun maps nothing and keeps the output; force maps everything again
    assert map_jsonl(ITEMS, out, upper).written == 0 and len(lines(out)) == 4
    assert map_jsonl(ITEMS, out, upper, force=True).written == 4 and len(lines(out)) == 4


def test_a_failure_costs_its_chunk_only_and_is_retried(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    calls: list[list[str]] = []

    def picky(batch: list[tuple[str, str]]) -> list[dict[str, str]]:
        calls.append([i for i, _ in batch])
        if any(text == "y" for _, text in batch):
            raise ValueError("no y")
        return upper(batch)

    items = [("a", "x"), ("b", "y"), ("c", "z"), ("d", "w")]
    rep = map_jsonl(items, out, picky, chunk=2, catch=(ValueError,))
    assert calls == [["a", "b"], ["c", "d"]]
    assert [(f.id, f.item, str(f.error)) for f in rep.failed] == [("a", "x", "no y"), ("b", "y", "no y")]
    assert [r["out"] for r in lines(out)] == ["Z", "W"]
    # the next run maps the failed inputs again
    rep = map_jsonl(items, out, upper)
    assert rep.written == 2 and [r["out"] for r in lines(out)] == ["Z", "W", "X", "Y"]
    with pytest.raises(KeyError):  # an error not caught ends the run
        map_jsonl([("e", "v")], out, lambda b: [{}[0]], catch=(ValueError,))


def test_strict_refuses_the_output_of_another_input(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text(json.dumps({"id": "zzz", "out": "Q"}) + "\n")
    with pytest.raises(ValueError, match="out.jsonl was written for another input"):
        map_jsonl(ITEMS, out, upper, strict=True)
    assert not partial_path(out).exists()  # refused before touching anything
    rep = map_jsonl(ITEMS, out, upper)  # not strict: an earlier line of another input is kept
    assert rep.written == 4 and [r["id"] for r in lines(out)][0] == "zzz"


def test_a_ledger_keeps_growing_in_place_and_lines_that_no_longer_stand_are_redone(tmp_path: Path) -> None:
    ledger = tmp_path / ".ledger.jsonl"
    items = [(f"f{i}", i) for i in range(3)]
    made = tmp_path / "made"
    made.mkdir()

    def make(batch: list[tuple[str, int]]) -> list[dict[str, int]]:
        for name, _ in batch:
            (made / name).write_text("x")
        return [{"n": n} for _, n in batch]

    rep = map_jsonl(items, ledger, make, key="file", part=ledger)
    assert rep.written == 3 and [r["file"] for r in lines(ledger)] == ["f0", "f1", "f2"]
    (made / "f1").unlink()
    rep = map_jsonl(items, ledger, make, key="file", part=ledger, still_done=lambda r: (made / r["file"]).exists())
    assert rep.written == 1 and [r["n"] for r in rep.resumed] == [0, 2]
    assert [r["file"] for r in lines(ledger)] == ["f0", "f2", "f1"] and not partial_path(ledger).exists()


def test_no_inputs_still_make_an_empty_output(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    assert map_jsonl([], out, upper).written == 0
    assert out.read_text() == ""
