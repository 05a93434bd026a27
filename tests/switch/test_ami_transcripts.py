"""Real Asterisk event order on every run: the Asterisk tier's recorded AMI transcripts replayed to the adapter.

Each transcript (`tests/fixtures/ami/*.jsonl`, recorded by `make test-asterisk`) is served by the fake AMI server
of `tests/ami_fake.py`; a fresh adapter is driven with the operations the engine called in the live run. The
adapter must send the same actions (ids mapped) and report the same SwitchEvents as it did against Asterisk.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.ami_fake import load, replay, transcripts

CASES = transcripts()


def test_transcripts_are_recorded() -> None:
    """The fixtures exist (an empty directory would make this module test nothing)."""
    assert CASES, "no AMI transcripts in tests/fixtures/ami (record them with `make test-asterisk`)"


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_adapter_replays_the_recorded_exchange(path: Path) -> None:
    transcript = load(path)
    result = asyncio.run(replay(transcript))
    assert result.unexpected == [], f"actions the live adapter did not send: {result.unexpected}"
    assert result.mismatches == [], "actions differing from the recorded ones"
    recorded_errors = [f"{e['name']}: {e['error']}" for e in transcript.entries if e["kind"] == "op_error"]
    assert result.errors == recorded_errors
    assert result.events == result.normalised_expected(transcript)
