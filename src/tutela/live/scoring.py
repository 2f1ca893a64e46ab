"""Evaluation of the live path over labelled scenario files (``tutela evaluate DIR --task live``).

A labelled scenario is a ``tutela demo --scenario`` file (see :mod:`tutela.live.demo`) plus the
labels of the scenario format::

    {"persona": ID | null, "contact": ID, "lang": CODE, "lines": [str, ...],
     "expect": "deter" | "refer" | "none",
     "not_before": INT,   # 1-based first contact line that is itself soliciting (not for "none")
     "by": INT,           # the latest contact line after which a warning is due (not for "none")
     "kind": STR}         # the pattern, e.g. "webcam", "paid_show", "benign_teacher"

Each scenario runs through the whole live path (:func:`tutela.live.demo.run_demo`: durable record,
incremental scoring, policy ladder, guarded reply, deterrence), each in its own fresh temporary
SQLite database, and the decisions are scored by the scenario format's scoring rule:

* a *warning* is the first decision whose action is ``deter``, ``escalate`` or ``refer``; its
  ``after_line`` is the scenario's ``first_warning_line``;
* a soliciting scenario (``expect`` ``deter`` or ``refer``) is *warned in time* when
  ``not_before <= first_warning_line <= by``, *premature* when the warning came after an earlier
  line, *late* when it came after line ``by``, *missed* when no warning came at all;
* a benign scenario (``expect`` ``none``) with any warning or referral is a *false warning*;
* a ``refer`` scenario is *referred* when any decision's action is ``refer``.

Figures are reported per language and overall (see :func:`summarize`).
"""

from __future__ import annotations

import statistics
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from tutela.domain import WARNING_ACTIONS as DOMAIN_WARNING_ACTIONS
from tutela.errors import InputError
from tutela.ledger.signing import DEMO_FOLDER_PREFIX
from tutela.live.demo import Scenario, read_scenario_json, run_demo, scenario_from_data

__all__ = [
    "EXPECT",
    "WARNING_ACTIONS",
    "LabelledScenario",
    "ScenarioOutcome",
    "evaluate_live",
    "live_report",
    "load_live_scenario",
    "load_live_scenarios",
    "score_scenario",
    "summarize",
]

EXPECT = ("deter", "refer", "none")
WARNING_ACTIONS = frozenset(DOMAIN_WARNING_ACTIONS)  # tutela.domain, the one definition

RunFn = Callable[..., dict]


@dataclass(frozen=True, slots=True)
class LabelledScenario:
    """A scenario with its labels.

    Attributes
    ----------
    scenario: the scripted contact, as :func:`tutela.live.demo.load_scenario` reads it.
    expect: ``"deter"``, ``"refer"`` or ``"none"`` (benign).
    not_before: 1-based first soliciting contact line; ``None`` for a benign scenario.
    by: the latest contact line by which a warning is due; ``None`` for a benign scenario.
    kind: the pattern label (``None`` when the file has none).
    name: the file's stem, e.g. ``"en-01"``.
    path: the file.
    """

    scenario: Scenario
    expect: str
    not_before: int | None
    by: int | None
    kind: str | None
    name: str
    path: Path

    @property
    def soliciting(self) -> bool:
        """A warning is due (``expect`` is ``deter`` or ``refer``)."""
        return self.expect != "none"


@dataclass(frozen=True, slots=True)
class ScenarioOutcome:
    """How the live path did on one labelled scenario (see the module docstring for the rule).

    ``first_warning_line`` is the ``after_line`` of the first decision whose action is ``deter``,
    ``escalate`` or ``refer`` (``None`` when there is none); ``first_warning_action`` and
    ``rule`` are that decision's action and policy rule. The flags ``warned_in_time``,
    ``premature``, ``late`` and ``missed`` are only ever true for a soliciting scenario and exactly
    one of them is; ``false_warning`` only for a benign one.
    """

    name: str
    lang: str
    kind: str | None
    expect: str
    not_before: int | None
    by: int | None
    first_warning_line: int | None
    first_warning_action: str | None
    rule: str | None
    warned_in_time: bool
    premature: bool
    late: bool
    missed: bool
    false_warning: bool
    referred: bool
    referral_due: bool

    @property
    def failed(self) -> bool:
        """Not as labelled: not warned in time, a false warning, or a referral not proposed."""
        if self.expect == "none":
            return self.false_warning
        return not self.warned_in_time or (self.referral_due and not self.referred)

    def to_dict(self) -> dict:
        """JSON-ready: every field above, plus ``failed``."""
        return {**asdict(self), "failed": self.failed}


def _label_int(data: dict, key: str, n_lines: int, where: str) -> int:
    value = data.get(key)
    if value is None:
        raise InputError(f"missing '{key}' (required when 'expect' is deter or refer)", path=where)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"'{key}' must be an integer line number, got {value!r}", path=where)
    if not 1 <= value <= n_lines:
        raise InputError(
            f"'{key}' must be between 1 and the number of lines ({n_lines}), got {value}",
            path=where,
        )
    return value


def load_live_scenario(path: str | Path) -> LabelledScenario:
    """Read one labelled scenario file (the scenario format; see the module docstring).

    The base fields (``lines``, ``lang``, ``persona``, ``contact``, ``platform``) are read by
    :func:`tutela.live.demo.load_scenario`; the labels are checked here.

    Raises
    ------
    InputError: naming the file: anything :func:`~tutela.live.demo.load_scenario` rejects, a
        missing or unknown ``expect``, a missing or non-integer ``not_before``/``by`` on a
        soliciting scenario, a line number outside the scenario, ``not_before > by``, a
        ``not_before``/``by`` on a benign scenario, a ``kind`` that is not a string.
    """
    p = Path(path)
    where = str(p)
    if not p.is_file():
        raise InputError("not a scenario file (no such file)", path=where)
    data = read_scenario_json(p)
    scenario = scenario_from_data(data, where=where)
    expect = data.get("expect")
    if expect is None:
        raise InputError(
            f"missing 'expect' ({', '.join(EXPECT)}): not a labelled live scenario", path=where
        )
    if expect not in EXPECT:
        raise InputError(f"'expect' must be one of {', '.join(EXPECT)}, got {expect!r}", path=where)
    not_before: int | None = None
    by: int | None = None
    if expect == "none":
        for key in ("not_before", "by"):
            if data.get(key) is not None:
                raise InputError(
                    f"'{key}' is only for soliciting scenarios (expect deter or refer), "
                    "not for expect none",
                    path=where,
                )
    else:
        not_before = _label_int(data, "not_before", len(scenario.lines), where)
        by = _label_int(data, "by", len(scenario.lines), where)
        if not_before > by:
            raise InputError(
                f"'not_before' ({not_before}) is after 'by' ({by}): no warning could be in time",
                path=where,
            )
    kind = data.get("kind")
    if kind is not None and (not isinstance(kind, str) or not kind.strip()):
        raise InputError(f"'kind' must be a non-empty string, got {kind!r}", path=where)
    return LabelledScenario(
        scenario=scenario,
        expect=expect,
        not_before=not_before,
        by=by,
        kind=kind.strip() if kind else None,
        name=p.stem,
        path=p,
    )


def load_live_scenarios(paths: str | Path | Iterable[str | Path]) -> list[LabelledScenario]:
    """Labelled scenarios from files and directories, in the order given.

    A directory contributes every ``*.json`` file directly inside it, sorted by name; other files
    there (a README) are skipped. A ``.json`` file that is not a labelled scenario is an error,
    not skipped.

    Raises
    ------
    InputError: a path that does not exist, a bad scenario file (see :func:`load_live_scenario`),
        a directory without ``*.json`` files, or no scenarios at all.
    """
    items = [paths] if isinstance(paths, str | Path) else list(paths)
    out: list[LabelledScenario] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            files = sorted(f for f in p.glob("*.json") if f.is_file())
            if not files:
                raise InputError("no scenario files (*.json) in this folder", path=str(p))
            out.extend(load_live_scenario(f) for f in files)
        elif p.exists():
            out.append(load_live_scenario(p))
        else:
            raise InputError("no such file or folder", path=str(p))
    if not out:
        raise InputError("no scenario files given")
    return out


def score_scenario(labelled: LabelledScenario, result: dict) -> ScenarioOutcome:
    """Score one run of the live path against its labels (pure; the module docstring's rule).

    ``result`` is :func:`tutela.live.demo.run_demo`'s output; only ``result["decisions"]`` is read:
    ``[{"after_line": int, "action": "continue"|"deter"|"escalate"|"refer", "rule"?: str}, ...]``
    in line order.
    """
    decisions = result.get("decisions") or []
    first = next((d for d in decisions if d.get("action") in WARNING_ACTIONS), None)
    line = int(first["after_line"]) if first is not None else None
    referred = any(d.get("action") == "refer" for d in decisions)
    soliciting = labelled.soliciting
    nb, by = labelled.not_before, labelled.by
    in_time = premature = late = missed = False
    if soliciting:
        assert nb is not None and by is not None  # load_live_scenario guarantees it
        if line is None:
            missed = True
        elif line < nb:
            premature = True
        elif line > by:
            late = True
        else:
            in_time = True
    return ScenarioOutcome(
        name=labelled.name,
        lang=labelled.scenario.lang,
        kind=labelled.kind,
        expect=labelled.expect,
        not_before=nb,
        by=by,
        first_warning_line=line,
        first_warning_action=first["action"] if first is not None else None,
        rule=first.get("rule") if first is not None else None,
        warned_in_time=in_time,
        premature=premature,
        late=late,
        missed=missed,
        false_warning=not soliciting and (line is not None or referred),
        referred=referred,
        referral_due=labelled.expect == "refer",
    )


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def summarize(outcomes: Sequence[ScenarioOutcome]) -> dict:
    """Counts and ratios over a set of outcomes.

    Returns ``{"soliciting", "warned_in_time", "recall_by", "premature", "late", "missed",
    "benign", "false_warnings", "refer_due", "referred", "refer_recall",
    "median_lines_to_warning"}``: ``recall_by`` = warned_in_time / soliciting; ``referred`` counts
    the ``refer`` scenarios that were referred and ``refer_recall`` = referred / refer_due;
    ``median_lines_to_warning`` is the median of ``first_warning_line - not_before`` over the
    soliciting scenarios that got a warning at all (negative when premature). Ratios and the median
    are ``None`` when there is nothing to divide by.
    """
    sol = [o for o in outcomes if o.expect != "none"]
    benign = [o for o in outcomes if o.expect == "none"]
    due = [o for o in outcomes if o.referral_due]
    in_time = sum(o.warned_in_time for o in sol)
    referred = sum(o.referred for o in due)
    gaps = [
        o.first_warning_line - o.not_before
        for o in sol
        if o.first_warning_line is not None and o.not_before is not None
    ]
    return {
        "soliciting": len(sol),
        "warned_in_time": in_time,
        "recall_by": _ratio(in_time, len(sol)),
        "premature": sum(o.premature for o in sol),
        "late": sum(o.late for o in sol),
        "missed": sum(o.missed for o in sol),
        "benign": len(benign),
        "false_warnings": sum(o.false_warning for o in benign),
        "refer_due": len(due),
        "referred": referred,
        "refer_recall": _ratio(referred, len(due)),
        "median_lines_to_warning": float(statistics.median(gaps)) if gaps else None,
    }


def live_report(labelled: Sequence[LabelledScenario], results: Sequence[dict]) -> dict:
    """Score ``results[i]`` against ``labelled[i]``; the shape of :func:`evaluate_live`.

    Use this to score runs made elsewhere (another checkout, another implementation).
    """
    if len(labelled) != len(results):
        raise ValueError(f"{len(labelled)} scenarios but {len(results)} results")
    outcomes = [score_scenario(s, r) for s, r in zip(labelled, results, strict=True)]
    by_lang: dict[str, list[ScenarioOutcome]] = {}
    for o in outcomes:
        by_lang.setdefault(o.lang, []).append(o)
    return {
        "task": "live",
        "n": len(outcomes),
        "scenarios": [o.to_dict() for o in outcomes],
        "languages": {lang: summarize(v) for lang, v in sorted(by_lang.items())},
        "overall": summarize(outcomes),
    }


def evaluate_live(
    paths: str | Path | Iterable[str | Path],
    *,
    run: RunFn = run_demo,
    db_dir: str | Path | None = None,
) -> dict:
    """Run every labelled scenario through the live path and score it.

    Parameters
    ----------
    paths:
        Scenario files and/or directories of them (see :func:`load_live_scenarios`).
    run:
        Called as ``run(scenario, db_url=URL)`` and returning :func:`tutela.live.demo.run_demo`'s
        output (only ``"decisions"`` is read); substitute another implementation to test or compare.
    db_dir:
        Where the temporary databases go (default: the system's temporary folder). Each scenario
        gets its own fresh SQLite database in a ``tutela-demo-*`` folder, which keeps the demo's
        signing key beside it; the folder is deleted after the run.

    Returns
    -------
    ``{"task": "live", "n": int,
    "scenarios": [{"name", "lang", "kind", "expect", "not_before", "by", "first_warning_line",
    "first_warning_action", "rule", "warned_in_time", "premature", "late", "missed",
    "false_warning", "referred", "referral_due", "failed"}, ...],
    "languages": {lang: summary}, "overall": summary}``, a summary as in :func:`summarize`.

    Raises
    ------
    InputError: a missing path or a bad scenario file (checked before anything runs).
    """
    labelled = load_live_scenarios(paths)
    results = []
    for s in labelled:
        with tempfile.TemporaryDirectory(
            prefix=DEMO_FOLDER_PREFIX, dir=db_dir, ignore_cleanup_errors=True
        ) as folder:
            results.append(run(s.scenario, db_url=f"sqlite:///{Path(folder) / 'tutela.db'}"))
    return live_report(labelled, results)
