"""Run ``tutela.cli.main`` in this process, the way a terminal would, and capture what it prints.

stdout is a strict UTF-8 text stream and stderr a ``backslashreplace`` one, as Python sets them up
for a real process, so an unprintable argument (a lone surrogate from a non-UTF-8 ``argv``) fails
here as it would there. Much faster than a subprocess per call: imports and the model load once.
"""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass

from tutela.cli import main
from tutela.cli._app import state


@dataclass(frozen=True)
class CliResult:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def invoke(argv: list[str], *, stdin: bytes = b"") -> CliResult:
    """``tutela ARGV`` with ``stdin``; returns the exit status and the decoded output.

    Only ``SystemExit`` is caught: any other exception escaping ``main`` is a test failure.
    """
    out_bytes, err_bytes = io.BytesIO(), io.BytesIO()
    out = io.TextIOWrapper(out_bytes, encoding="utf-8", errors="strict", write_through=True)
    err = io.TextIOWrapper(err_bytes, encoding="utf-8", errors="backslashreplace",
                           write_through=True)  # fmt: skip
    inp = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")
    state.verbose = False  # set again by the root callback; a usage error never reaches it
    saved = sys.stdin, sys.stdout, sys.stderr
    sys.stdin, sys.stdout, sys.stderr = inp, out, err
    code: int | str | None = 0
    try:
        main(argv)
    except SystemExit as e:
        code = e.code
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved
    if not isinstance(code, int):  # sys.exit("message") prints it and exits 1
        code = 0 if code is None else 1
    return CliResult(
        code=code,
        out=out_bytes.getvalue().decode("utf-8", "replace"),
        err=err_bytes.getvalue().decode("utf-8", "replace"),
    )
