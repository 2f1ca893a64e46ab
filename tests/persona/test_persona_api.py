"""The shipped response banks are reviewed and complete (names: tests/test_public_api.py)."""

from __future__ import annotations

import tutela.persona as persona


def test_banks_have_review_headers_and_every_intent() -> None:
    for lang in persona.BANK_LANGUAGES:
        bank = persona.load_bank(lang)
        assert bank.reviewed_by == "pending human review"
        assert bank.version >= 1
        assert set(bank.templates) == {i.value for i in persona.Intent} | {"ending"}
