"""The deterrence trial's allocation sequence: seeded permuted blocks, stratified (pure).

A registered trial (``tutela trial register``; the rows in ``tutela.store.queries.trials``) fixes
its arms (deterrence variant names, in registration order), a block size ``B`` and a seed. Each
*contact identity* is allocated once per trial, at its first warning, within the *stratum* of the
conversation's language. The arms are balanced within every block of ``B`` consecutive
allocations of a stratum (permuted-block randomisation: Schulz & Grimes 2002, "Generation of
allocation sequences in randomised trials", *Lancet* 359; CONSORT 2010 item 8b), so arm sizes in a
stratum never differ by more than ``B / m`` (``m`` arms), whatever the language mix.

Construction (``ALLOCATION_SCHEME``; an auditor recomputes every allocation from the registered
seed with SHA-256 alone, in any language)::

    arms a_0 .. a_{m-1}; B a multiple of m (default 2m)
    the n-th allocation of stratum s (n = 0, 1, ... in allocation order, i.e. ledger order of the
    trial's ``trial_allocated`` entries of that stratum) falls in block k = n // B, position
    p = n % B
    block k of stratum s: slot j (0 <= j < B) holds arm a_{j mod m} and has the sort key
        SHA-256( UTF-8 "tutela-trial-block-v1\\n{seed}\\n{trial_id}\\n{s}\\n{k}\\n{j}" )
    (decimal integers, no padding); the block is the slots' arms ordered by key (bytes,
    ascending; ties, never seen in practice, by j). The arm of allocation n is position p.

Ordering by keys from a pseudo-random function is a uniformly random permutation of the block
(each of the B! orders equally likely when SHA-256 behaves as a random function), and the blocks
of different strata, trials or indices are independent draws. Nothing here is secret but the
seed; the ledger discloses only its digest (``trial_registered``: ``seed_sha256``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from tutela.errors import InputError

__all__ = [
    "ALLOCATION_SCHEME",
    "MAX_BLOCK_SIZE",
    "MAX_SEED",
    "MAX_STRATUM",
    "ArmAt",
    "TrialDesign",
    "block_key",
    "check_design",
    "default_block_size",
]

ALLOCATION_SCHEME = "tutela-trial-block-v1"
"""Name and version of the construction in the module docstring (the first line of every key)."""
MAX_SEED = 2**31 - 1
"""Largest seed (the ``trials.seed`` column is a 32-bit integer on PostgreSQL)."""
MAX_BLOCK_SIZE = 1000
"""Largest block size accepted (a block that large balances nothing in a small stratum)."""
MAX_STRATUM = 32
"""Longest stratum name (``trial_allocations.stratum`` is ``VARCHAR(32)``)."""

_ARM = re.compile(r"^[a-z][a-z0-9_]*$")


def default_block_size(n_arms: int) -> int:
    """``2 * n_arms``: the smallest block that keeps the next arm unpredictable at the start of
    each block while still balancing every 2m allocations."""
    return 2 * n_arms


def block_key(seed: int, trial_id: int, stratum: str, block_index: int, slot: int) -> bytes:
    """The SHA-256 sort key of ``slot`` in block ``block_index`` of ``stratum`` (module
    docstring)."""
    text = f"{ALLOCATION_SCHEME}\n{seed}\n{trial_id}\n{stratum}\n{block_index}\n{slot}"
    return hashlib.sha256(text.encode("utf-8")).digest()


@dataclass(frozen=True, slots=True)
class ArmAt:
    """Where allocation ``n`` of a stratum falls: its ``arm``, ``block_index`` (k, 0-based) and
    ``position`` in the block (p, 0-based)."""

    arm: str
    block_index: int
    position: int


@dataclass(frozen=True, slots=True)
class TrialDesign:
    """A trial's allocation design.

    Attributes
    ----------
    trial_id: the trial's id (>= 1; part of every key, so two trials with one seed differ).
    arms: deterrence variant names, unique, ``[a-z][a-z0-9_]*``, at least two.
    seed: 0 .. :data:`MAX_SEED`.
    block_size: a multiple of ``len(arms)``, at most :data:`MAX_BLOCK_SIZE`; ``None`` at
        construction: :func:`default_block_size`.

    Raises ``InputError`` for anything else.
    """

    trial_id: int
    arms: tuple[str, ...]
    seed: int
    block_size: int

    def __init__(
        self, trial_id: int, arms: Sequence[str], seed: int, block_size: int | None = None
    ) -> None:
        arms = tuple(arms)
        check_design(arms, seed, block_size)
        if not isinstance(trial_id, int) or isinstance(trial_id, bool) or trial_id < 1:
            raise InputError(f"trial id must be a positive integer, got {trial_id!r}")
        object.__setattr__(self, "trial_id", trial_id)
        object.__setattr__(self, "arms", arms)
        object.__setattr__(self, "seed", seed)
        size = default_block_size(len(arms)) if block_size is None else block_size
        object.__setattr__(self, "block_size", size)

    def block(self, stratum: str, block_index: int) -> tuple[str, ...]:
        """The arms of block ``block_index`` (>= 0) of ``stratum``, in allocation order."""
        _check_stratum(stratum)
        if block_index < 0:
            raise InputError(f"block index must be >= 0, got {block_index}")
        m = len(self.arms)
        slots = sorted(
            range(self.block_size),
            key=lambda j: (block_key(self.seed, self.trial_id, stratum, block_index, j), j),
        )
        return tuple(self.arms[j % m] for j in slots)

    def arm_at(self, stratum: str, n: int) -> ArmAt:
        """Allocation ``n`` (>= 0, 0-based, in allocation order) of ``stratum``."""
        if n < 0:
            raise InputError(f"allocation number must be >= 0, got {n}")
        k, p = divmod(n, self.block_size)
        return ArmAt(arm=self.block(stratum, k)[p], block_index=k, position=p)

    def sequence(self, stratum: str, count: int) -> list[str]:
        """The first ``count`` arms of ``stratum`` (whole blocks computed once each)."""
        if count < 0:
            raise InputError(f"count must be >= 0, got {count}")
        out: list[str] = []
        k = 0
        while len(out) < count:
            out.extend(self.block(stratum, k))
            k += 1
        return out[:count]


def check_design(arms: Sequence[str], seed: int, block_size: int | None) -> None:
    """``InputError`` unless ``arms``, ``seed`` and ``block_size`` make a valid design (the
    rules of :class:`TrialDesign`)."""
    if len(arms) < 2:
        raise InputError(f"a trial needs at least two arms, got {list(arms)}")
    bad = [a for a in arms if not isinstance(a, str) or not _ARM.fullmatch(a)]
    if bad:
        raise InputError(f"arm names must match [a-z][a-z0-9_]*: {bad}")
    dupes = sorted({a for a in arms if list(arms).count(a) > 1})
    if dupes:
        raise InputError(f"duplicate arms: {', '.join(dupes)}")
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= MAX_SEED:
        raise InputError(f"seed must be an integer in 0..{MAX_SEED}, got {seed!r}")
    if block_size is None:
        return
    m = len(arms)
    if (
        not isinstance(block_size, int)
        or isinstance(block_size, bool)
        or block_size < m
        or block_size % m
        or block_size > MAX_BLOCK_SIZE
    ):
        raise InputError(
            f"block size must be a multiple of the {m} arms, at most {MAX_BLOCK_SIZE}, "
            f"got {block_size!r}"
        )


def _check_stratum(stratum: str) -> None:
    if not isinstance(stratum, str) or not stratum or len(stratum) > MAX_STRATUM:
        raise InputError(f"stratum must be 1-{MAX_STRATUM} characters, got {stratum!r}")
