"""A database URL that cannot be used is reported without its password (reviewer finding S1)."""

from __future__ import annotations

import pytest

from tutela.store import StoreError
from tutela.store.engine import open_store, parse_url

SECRET = "s3cretPW"


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        (f"postgresql+psycopg//tutela:{SECRET}@db/tutela", None),  # "://" missing
        (f"postgresql+psycopg://tutela:{SECRET}@db:54x2/tutela", "postgresql+psycopg"),  # bad port
        (f"tutela:{SECRET}@db/tutela", None),  # no scheme at all
    ],
)
def test_unparseable_url_is_a_store_error_without_the_password(
    url: str, scheme: str | None
) -> None:
    with pytest.raises(StoreError) as err:
        open_store(url, migrate=False)
    msg = str(err.value)
    assert SECRET not in msg
    assert "invalid database URL" in msg
    assert "db" not in msg.replace("database", "")  # not even the host is echoed
    if scheme:
        assert repr(scheme) in msg
    assert err.value.__cause__ is None and err.value.__suppress_context__


def test_unsupported_backend_is_shown_with_the_password_hidden() -> None:
    with pytest.raises(StoreError) as err:
        parse_url(f"mysql://tutela:{SECRET}@db/tutela")
    assert SECRET not in str(err.value)
    assert "mysql://tutela:***@db/tutela" in str(err.value)


def test_a_good_url_still_parses() -> None:
    assert parse_url("postgresql+psycopg://tutela:pw@db:5432/tutela").port == 5432
