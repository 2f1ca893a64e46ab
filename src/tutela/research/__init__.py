"""De-identified research statistics and exports (keyed pseudonyms, coarsened time), including
deterrence outcomes per warning variant.

* :mod:`tutela.research.stats`: read-only statistics over the store; ``summary(store)`` gives
  them all as one JSON-ready dict (the dashboard's statistics page).
* :func:`export_research`: a folder of CSV tables, statistics, PNG plots and a README.
* :mod:`tutela.research.pseudonym`: keyed HMAC-SHA256 pseudonyms and the per-deployment key.

No output of this package holds a raw identifier (database id, handle, e-mail...), a time of day
or (unless an authenticated supervisor asks for it, audited) a message text.
"""

from __future__ import annotations

from tutela.errors import PermissionDenied
from tutela.research.export import TEXT_ROLES, ExportReport, export_research
from tutela.research.pseudonym import default_key_path, key_id, load_or_create_key, pseudonym
from tutela.research.stats import summary

__all__ = [
    "TEXT_ROLES",
    "ExportReport",
    "PermissionDenied",
    "default_key_path",
    "export_research",
    "key_id",
    "load_or_create_key",
    "pseudonym",
    "summary",
]
