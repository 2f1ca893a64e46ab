"""The deterrence trial's allocation sequence (``tutela.policy.trial``): balanced permuted
blocks per stratum, reproducible from the seed, recomputable from the documented construction."""

from __future__ import annotations

import hashlib
import re
from collections import Counter

import pytest

from tutela.errors import InputError
from tutela.persona.deterrence import HELP_LINK_BASE_PATTERN
from tutela.policy import PolicyParams
from tutela.policy.params import _HELP_LINK_BASE
from tutela.policy.trial import ALLOCATION_SCHEME, TrialDesign, default_block_size

ARMS = ("combined", "legal_trace", "legal", "help")


def test_every_block_of_every_stratum_is_balanced() -> None:
    design = TrialDesign(3, ARMS, 20261201)
    assert design.block_size == default_block_size(4) == 8
    for stratum in ("en", "nl", "de", "tl"):
        seq = design.sequence(stratum, 8 * 25)
        for k in range(25):
            assert Counter(seq[8 * k : 8 * k + 8]) == {arm: 2 for arm in ARMS}, (stratum, k)
        # any prefix is within one block's imbalance (at most B / m = 2 per arm)
        for n in range(1, len(seq)):
            counts = Counter(seq[:n])
            assert max(counts.get(a, 0) for a in ARMS) - min(counts.get(a, 0) for a in ARMS) <= 2


def test_custom_block_size_balances_and_bad_sizes_are_refused() -> None:
    design = TrialDesign(1, ARMS[:2], 5, block_size=6)
    seq = design.sequence("en", 60)
    assert all(
        Counter(seq[i : i + 6]) == {"combined": 3, "legal_trace": 3} for i in range(0, 60, 6)
    )
    for bad in (3, 1, 0, 1002):
        with pytest.raises(InputError):
            TrialDesign(1, ARMS[:2], 5, block_size=bad)
    for arms in (("combined",), ("combined", "combined"), ("Combined", "help")):
        with pytest.raises(InputError):
            TrialDesign(1, arms, 5)
    with pytest.raises(InputError):
        TrialDesign(1, ARMS, -1)
    with pytest.raises(InputError):
        TrialDesign(1, ARMS, 2**31)


def test_reproducible_from_the_seed_and_seed_matters() -> None:
    a = TrialDesign(7, ARMS, 99).sequence("en", 200)
    assert a == TrialDesign(7, ARMS, 99).sequence("en", 200)
    assert a != TrialDesign(7, ARMS, 100).sequence("en", 200)
    assert a != TrialDesign(8, ARMS, 99).sequence("en", 200)  # the trial id is in every key


def test_the_documented_construction_recomputes_every_arm() -> None:
    """The module docstring's recipe, written out with hashlib alone."""
    seed, trial_id, m, b = 4242, 2, len(ARMS), 8

    def recompute(stratum: str, n: int) -> str:
        k, p = divmod(n, b)
        keys = []
        for j in range(b):
            text = f"{ALLOCATION_SCHEME}\n{seed}\n{trial_id}\n{stratum}\n{k}\n{j}"
            keys.append((hashlib.sha256(text.encode("utf-8")).digest(), j))
        order = [j for _, j in sorted(keys)]
        return ARMS[order[p] % m]

    design = TrialDesign(trial_id, ARMS, seed)
    for stratum in ("en", "tl"):
        seq = design.sequence(stratum, 64)
        assert seq == [recompute(stratum, n) for n in range(64)]
        for n in (0, 9, 63):
            at = design.arm_at(stratum, n)
            assert (at.arm, at.block_index, at.position) == (seq[n], n // b, n % b)


def test_strata_are_independent() -> None:
    design = TrialDesign(1, ARMS, 31337)
    en = design.sequence("en", 400)
    nl = design.sequence("nl", 400)
    assert en != nl
    # allocating in one stratum does not move another: nl's sequence is a function of nl alone
    assert design.sequence("nl", 400) == nl
    # blocks of different strata agree no more often than independent draws would (1/4 expected)
    same = sum(x == y for x, y in zip(en, nl, strict=True)) / len(en)
    assert 0.15 < same < 0.35
    with pytest.raises(InputError):
        design.block("x" * 33, 0)


def test_first_arm_is_not_predictable_from_the_block_position() -> None:
    design = TrialDesign(1, ARMS, 11)
    firsts = Counter(design.block("en", k)[0] for k in range(400))
    assert set(firsts) == set(ARMS) and min(firsts.values()) > 60


def test_help_link_base_pattern_is_the_persona_one() -> None:
    assert f"^{HELP_LINK_BASE_PATTERN}$" == _HELP_LINK_BASE
    assert re.fullmatch(_HELP_LINK_BASE, "https://help.example.org/tutela")
    for bad in ("http://help.example.org", "https://help.example.org/", "https://a b"):
        with pytest.raises(ValueError):
            PolicyParams.model_validate({"deterrence": {"help_link_base": bad}})
