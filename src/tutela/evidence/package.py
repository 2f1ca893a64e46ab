"""Evidence packages: one case's ledger excerpt, texts, operations, checkpoints, key and reports
in a zip that anyone can verify offline (``tutela verify``).

This module is the package's public surface; the work is done by

- :mod:`tutela.evidence.layout`: the member names and the format (``PACKAGE_FORMAT``);
- :mod:`tutela.evidence.export`: ``export_package``, building a package from the store and
  recording the export through a ``Recorder``;
- :mod:`tutela.evidence.archive`: ``read_package`` and ``ReadLimits``, reading a package as
  hostile input (limits checked from the central directory before anything is decompressed,
  member hashes compared as they are read);
- :mod:`tutela.evidence.checks`: what the members must say (signature, chain, export entry,
  operations, messages);
- :mod:`tutela.evidence.verify`: ``verify_package`` and ``verified_contents``.

Exporting appends an ``export`` ledger entry (case, conversations, operations, actor) and signs a
checkpoint over it, so the excerpt ends with signed proof of its own export and of what it claims.
The manifest signature binds every member, the derived reports included: a changed byte anywhere
fails verification even when the manifest hash was fixed up. Whoever holds another key can re-sign
a forged package consistently; only comparing the key fingerprint with one published out of band
(``expected_fingerprint``) or with a trusted key (``tutela.ledger.trust``) detects that
(``docs/architecture.md``, evidence).
"""

from __future__ import annotations

from tutela.evidence.archive import MAX_JSON_DEPTH, ReadLimits, parse_lines, read_package
from tutela.evidence.contents import PackageReport
from tutela.evidence.export import TimestampTransport, export_package
from tutela.evidence.layout import DATA_MEMBERS, DERIVED_MEMBERS, DRAFT_STATUS, PACKAGE_FORMAT
from tutela.evidence.verify import verified_contents, verify_package

__all__ = [
    "DATA_MEMBERS",
    "DERIVED_MEMBERS",
    "DRAFT_STATUS",
    "MAX_JSON_DEPTH",
    "PACKAGE_FORMAT",
    "PackageReport",
    "ReadLimits",
    "TimestampTransport",
    "export_package",
    "read_package",
    "verified_contents",
    "verify_package",
]

_lines = parse_lines  # the name tests of the JSON Lines reader import
