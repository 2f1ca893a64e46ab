"""``--db`` with a URL that cannot be parsed: exit 2 with a message, never the password (S1)."""

from __future__ import annotations

import pytest
from tests._cli_harness import invoke

SECRET = "s3cretPW"


@pytest.mark.parametrize(
    "url", [f"postgresql+psycopg//u:{SECRET}@h/d", f"postgresql+psycopg://u:{SECRET}@h:54x2/d"]
)
def test_ledger_verify_bad_db_url_prints_no_secret(url: str) -> None:
    r = invoke(["ledger", "verify", "--db", url])
    assert r.code == 2, r.text
    assert "invalid database URL" in r.text
    assert SECRET not in r.text
    assert "Traceback" not in r.text
