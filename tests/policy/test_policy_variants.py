"""Deterrence-variant assignment."""

from __future__ import annotations

import pytest

from tutela.errors import InputError
from tutela.policy import PolicyParams, VariantAssigner


def params(**deterrence: object) -> PolicyParams:
    return PolicyParams.model_validate({"deterrence": deterrence})


def test_round_robin_cycles() -> None:
    a = VariantAssigner(PolicyParams())
    assert [a.next() for _ in range(9)] == [
        "combined",
        "legal_trace",
        "legal",
        "help",
        "combined",
        "legal_trace",
        "legal",
        "help",
        "combined",
    ]
    assert a.issued == 9


def test_peek_does_not_consume() -> None:
    a = VariantAssigner(PolicyParams())
    assert a.peek() == a.peek() == "combined"
    assert a.advance() == "combined"
    assert a.peek() == "legal_trace"


def test_seeded_random_is_reproducible_and_uses_every_variant() -> None:
    p = params(assignment="random", seed=42)
    first = [VariantAssigner(p).next() for _ in range(1)]
    a, b = VariantAssigner(p), VariantAssigner(p)
    seq_a = [a.next() for _ in range(60)]
    seq_b = [b.next() for _ in range(60)]
    assert seq_a == seq_b and seq_a[:1] == first
    assert set(seq_a) == {"combined", "legal_trace", "legal", "help"}
    other = VariantAssigner(params(assignment="random", seed=43))
    assert [other.next() for _ in range(60)] != seq_a


def test_peek_then_advance_keeps_the_random_sequence() -> None:
    p = params(assignment="random", seed=3)
    plain = VariantAssigner(p)
    expected = [plain.next() for _ in range(10)]
    peeking = VariantAssigner(p)
    got = []
    for _ in range(10):
        peeking.peek()
        peeking.peek()
        got.append(peeking.advance())
    assert got == expected


@pytest.mark.parametrize("assignment", ["round_robin", "random"])
def test_resume_after_restart(assignment: str) -> None:
    p = params(assignment=assignment, seed=5)
    full = VariantAssigner(p)
    seq = [full.next() for _ in range(8)]
    resumed = VariantAssigner(p, issued=5)
    assert [resumed.next() for _ in range(3)] == seq[5:]


def test_negative_issued_is_refused() -> None:
    with pytest.raises(InputError):
        VariantAssigner(PolicyParams(), issued=-1)
