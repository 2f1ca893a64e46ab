"""Read models and writes that other packages need, one module per area.

Only ``tutela.store`` speaks SQL (``docs/architecture.md``): ``cases``, ``accounts``,
``research``, ``evidence``, ``live`` and ``web`` call the functions here and get frozen records
back, never ORM rows or sessions. Writes take the :class:`~tutela.store.Recorder` so each commits
its rows together with their ledger entry or audit row in one transaction.
"""
