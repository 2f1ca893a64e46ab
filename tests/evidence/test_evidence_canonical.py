"""Canonical JSON (RFC 8785) used for every hashed value."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tutela.errors import InputError
from tutela.ledger import canonical_json, format_risk
from tutela.ledger.canonical import MAX_SAFE_INT, jcs_minimal, to_plain


def test_sorted_keys_no_whitespace_utf8() -> None:
    assert (
        canonical_json({"b": 1, "a": [True, None, "é"]}) == '{"a":[true,null,"é"],"b":1}'.encode()
    )


def test_keys_sorted_by_utf16_code_units() -> None:
    # U+1F600 (surrogates D83D DE00) sorts before U+FB33 in UTF-16, after it by code point.
    value = {"\ufb33": 1, "\U0001f600": 2}
    assert canonical_json(value) == '{"\U0001f600":2,"\ufb33":1}'.encode()


def test_control_characters_escaped_like_rfc8785() -> None:
    assert canonical_json('a\nb\x01"\\') == b'"a\\nb\\u0001\\"\\\\"'


@pytest.mark.parametrize(
    "bad", [0.5, {"risk": 0.1}, [1, float("nan")], 2**53, {1: "x"}, object(), "\ud800"]
)
def test_unhashable_values_refused(bad: object) -> None:
    with pytest.raises(InputError):
        canonical_json(bad)


def test_max_safe_int_accepted() -> None:
    assert canonical_json(MAX_SAFE_INT) == str(MAX_SAFE_INT).encode()


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-MAX_SAFE_INT, MAX_SAFE_INT)
    | st.text(st.characters(exclude_categories=("Cs",))),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(st.characters(exclude_categories=("Cs",))), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_minimal_jcs_agrees_with_rfc8785(value: object) -> None:
    assert jcs_minimal(to_plain(value)) == canonical_json(value)


@pytest.mark.parametrize(
    ("risk", "text"), [(0, "0.000000"), (1.0, "1.000000"), (0.1234567, "0.123457")]
)
def test_format_risk(risk: float, text: str) -> None:
    assert format_risk(risk) == text


@pytest.mark.parametrize("bad", [-0.01, 1.5, float("nan"), float("inf"), True, "0.5"])
def test_format_risk_refuses_out_of_range(bad: object) -> None:
    with pytest.raises(InputError):
        format_risk(bad)  # type: ignore[arg-type]
