"""Evidence packages: export a case from the store, verify a package, render its reports.

``evidence`` sits above ``tutela.store`` and ``tutela.ledger``: it reads a case's records and
ledger segment through the store, writes the package (ledger segment, texts, signed manifest,
HTML/PDF reports, CASE/UCO JSON-LD) and verifies one on a machine without the database. The
ledger primitives themselves (entries, signing, verification) are in :mod:`tutela.ledger`.
"""

from __future__ import annotations

from tutela.evidence.contents import PackageContents
from tutela.evidence.package import (
    PACKAGE_FORMAT,
    PackageReport,
    export_package,
    verified_contents,
    verify_package,
)

__all__ = [
    "PACKAGE_FORMAT",
    "PackageContents",
    "PackageReport",
    "export_package",
    "verified_contents",
    "verify_package",
]
