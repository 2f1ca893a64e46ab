"""Identifier extraction on synthetic lines (example.com, 555 numbers, obviously fake handles)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tutela.detect.identifiers import KINDS, DisclosedIdentifier, extract_identifiers


def found(text: str, **kw: str) -> list[tuple[str, str]]:
    return [(i.kind, i.value) for i in extract_identifiers(text, **kw)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("add me on snap: fake_user01", ("handle", "snap:fake_user01")),
        ("my kik is FakeUser_22 ok?", ("handle", "kik:fakeuser_22")),
        ("ig @fake.person99", ("handle", "instagram:fake.person99")),
        ("my insta is @fake_insta", ("handle", "instagram:fake_insta")),
        ("telegram @fakeguy", ("handle", "telegram:fakeguy")),
        ("discord fakename#1234", ("handle", "discord:fakename#1234")),
        ("snapchat - fake_x", ("handle", "snap:fake_x")),
        ("skype id fake.skype", ("handle", "skype:fake.skype")),
    ],
)
def test_handles(text: str, expected: tuple[str, str]) -> None:
    assert found(text) == [expected]


@pytest.mark.parametrize(
    "text",
    ["add me on snap later", "my snap is down", "do you have snap", "i like discord", "big deal"],
)
def test_platform_words_without_a_handle(text: str) -> None:
    assert found(text) == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("mail me at Fake.Name@Example.com pls", "fake.name@example.com"),
        ("fake.name at example dot com", "fake.name@example.com"),
        ("fakename [at] example [dot] co [dot] uk", "fakename@example.co.uk"),
        ("fakename(at)example.com", "fakename@example.com"),
    ],
)
def test_emails_plain_and_obfuscated(text: str, value: str) -> None:
    assert found(text) == [("email", value)]


def test_prose_with_at_and_dot_is_not_an_email() -> None:
    assert found("look at me dot com") == []
    assert found("i'm at home now") == []


def test_phones_international_and_local() -> None:
    text = "call +1 (555) 555-0199 or 0917 555 0123 or 0044 20 7946 0000"
    assert found(text) == [
        ("phone", "+15555550199"),
        ("phone", "09175550123"),
        ("phone", "+442079460000"),
    ]
    assert found("text 0917 555 0123", country_code="63") == [("phone", "+639175550123")]


@pytest.mark.parametrize(
    "text", ["born 12.05.2011", "it costs 1.000.000", "i am 13 and 14 in may", "at 16:43", "$20"]
)
def test_numbers_that_are_not_phones(text: str) -> None:
    assert found(text) == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("gcash 0917 555 0123", "gcash:+639175550123"),
        ("send to my GCash: 09175550123 thx", "gcash:+639175550123"),
        ("maya +63 917 555 0123", "maya:+639175550123"),
        ("paypal fake.payer@example.com", "paypal:fake.payer@example.com"),
        ("paypal: fakepayer", "paypal:fakepayer"),
        ("cashapp $FakeCash", "cashapp:fakecash"),
        ("venmo @fake-venmo", "venmo:fake-venmo"),
    ],
)
def test_payment_references_win_over_the_number_or_address(text: str, value: str) -> None:
    assert found(text) == [("payment_ref", value)]


def test_profile_urls_give_url_and_handle() -> None:
    text = "see https://www.Instagram.com/fake_profile/ and t.me/fakechan."
    assert found(text) == [
        ("url", "https://instagram.com/fake_profile/"),
        ("handle", "instagram:fake_profile"),
        ("url", "https://t.me/fakechan"),
        ("handle", "telegram:fakechan"),
    ]
    assert found("paypal.me/fakepayer") == [
        ("payment_ref", "paypal:fakepayer"),
        ("url", "https://paypal.me/fakepayer"),
    ]
    assert found("wa.me/15555550123") == [
        ("url", "https://wa.me/15555550123"),
        ("phone", "+15555550123"),
    ]


def test_generic_url() -> None:
    assert found("look: http://example.com/page?x=1,") == [("url", "https://example.com/page?x=1")]


def test_offsets_index_the_raw_text() -> None:
    text = "ok so.. add me on SNAP: Fake_User01 and mail fake@example.com"
    ids = extract_identifiers(text)
    assert [text[i.start : i.end] for i in ids] == ["SNAP: Fake_User01", "fake@example.com"]
    assert ids[0] == DisclosedIdentifier("handle", "snap:fake_user01", 18, 35)


def test_handle_followed_by_email_is_the_email() -> None:
    assert found("kik me at fakekik@example.com") == [("email", "fakekik@example.com")]


@given(st.text(max_size=200))
def test_never_raises_and_spans_are_valid(text: str) -> None:
    for ident in extract_identifiers(text):
        assert ident.kind in KINDS
        assert 0 <= ident.start < ident.end <= len(text)
        assert ident.value
