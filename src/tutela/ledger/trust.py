"""Which signing keys a verifier trusts: integrity is not enough.

Anyone can build a self-consistent package and sign it with a key of their own; ``verify_package``
proves only that a package is intact *under the key it carries*. ``tutela verify`` therefore also
asks whether that key is trusted (RFC 4949 "trust anchor": a key accepted on grounds outside the
data being verified). A key is trusted when its fingerprint (lowercase hex SHA-256 of the raw
32-byte Ed25519 public key, ``tutela.ledger.signing.fingerprint``) is

* ``--expect-fingerprint`` (then that key alone is accepted), or otherwise
* one of the local store's own keys: the default signing key (``default_key_path()``), the key
  that belongs to ``--db`` (``key_path_for_db``: a ``tutela demo`` database keeps its own;
  ``demo_key_path``), and the keys retired beside them by ``tutela ledger rotate-key``
  (``<key file>.retired-*``), when those files exist (they are only read, never created; a
  passphrase-protected key needs ``TUTELA_KEY_PASSPHRASE``), or
* listed in a trusted-keys file (``--trusted-keys FILE``, repeatable; by default
  ``<folder of default_key_path()>/trusted-keys.txt`` when that file exists).

Trusted-keys file format (UTF-8 text, at most 1 MiB)::

    # Tutela trusted signing keys. '#' starts a comment; blank lines are ignored.
    # A fingerprint (64 hex digits, as `tutela export` prints it), optionally with a label:
    3f0c...e91a  Example Child Protection Unit ledger key (2025)
    # or a public key as PEM (e.g. the public_key.pem of a package you trust):
    -----BEGIN PUBLIC KEY-----
    MCowBQYDK2VwAyEA...
    -----END PUBLIC KEY-----

A fingerprint may be followed by a label (free text, or a ``# comment``). Anything else is an
``InputError`` naming the file and line. Only fingerprints obtained out of band (published by the
exporting organisation, read out over the phone) should be added.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tutela.errors import InputError
from tutela.files import read_small_file
from tutela.ledger import signing
from tutela.ledger.errors import SigningKeyError

__all__ = [
    "TRUSTED_KEYS_FILE",
    "TrustedKeys",
    "default_trusted_keys_path",
    "parse_trusted_keys",
    "read_trusted_keys",
    "trusted_keys",
]

TRUSTED_KEYS_FILE = "trusted-keys.txt"
_MAX_FILE = 1024**2
_FP = re.compile(r"[0-9a-fA-F]{64}")
_BEGIN = "-----BEGIN PUBLIC KEY-----"
_END = "-----END PUBLIC KEY-----"


def default_trusted_keys_path() -> Path:
    """``<folder of default_key_path()>/trusted-keys.txt`` (read only when it exists)."""
    return signing.default_key_path().parent / TRUSTED_KEYS_FILE


@dataclass(frozen=True, slots=True)
class TrustedKeys:
    """Trusted fingerprints, each with where its trust comes from (for the report).

    ``keys``: {fingerprint (64 lowercase hex): source, e.g. ``"--expect-fingerprint"``,
    ``"local signing key /path/key.pem"``, ``"trusted-keys file /path:3"``}. ``warnings``: local
    key files that exist but could not be read (their keys are not trusted). ``expected``: the
    normalised ``--expect-fingerprint`` when one was given (then the only key).
    """

    keys: Mapping[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    expected: str | None = None

    def source(self, fingerprint: str) -> str | None:
        """Why ``fingerprint`` is trusted, or ``None`` when it is not."""
        return self.keys.get(fingerprint.lower())


def parse_trusted_keys(text: str, *, path: str = "<trusted keys>") -> dict[str, str]:
    """Parse trusted-keys text (format in the module docstring).

    Returns {fingerprint: ``"trusted-keys file PATH:LINE"``}. Raises ``InputError`` (with
    ``path`` and the 1-based line) for a line that is neither a comment, a fingerprint nor part
    of a PEM public key block, for an unterminated PEM block, or a PEM that is not Ed25519.
    """
    out: dict[str, str] = {}
    pem: list[str] | None = None
    pem_line = 0
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if pem is not None:
            pem.append(line)
            if line == _END:
                try:
                    fp = signing.fingerprint("\n".join(pem) + "\n")
                except InputError as e:
                    raise InputError(str(e), path=path, line=pem_line) from e
                out.setdefault(fp, f"trusted-keys file {path}:{pem_line}")
                pem = None
            continue
        if not line or line.startswith("#"):
            continue
        if line == _BEGIN:
            pem, pem_line = [line], n
            continue
        token = line.split(None, 1)[0]
        if not _FP.fullmatch(token):
            raise InputError(
                "expected a 64-hex-digit key fingerprint, a PEM public key block or a # comment, "
                f"found {token[:70]!r}",
                path=path,
                line=n,
            )
        out.setdefault(token.lower(), f"trusted-keys file {path}:{n}")
    if pem is not None:
        raise InputError(f"PEM block without {_END}", path=path, line=pem_line)
    return out


def read_trusted_keys(path: str | Path) -> dict[str, str]:
    """Read and parse a trusted-keys file; ``InputError`` when unreadable, not a regular file
    (a FIFO or device), over 1 MiB, not UTF-8 or malformed (see ``parse_trusted_keys``)."""
    p = Path(path)
    data = read_small_file(p, what="trusted keys file", limit=_MAX_FILE)  # never a FIFO/device
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(f"trusted-keys file is not UTF-8: {e.reason}", path=str(p)) from e
    return parse_trusted_keys(text, path=str(p))


def _local_key(path: Path) -> tuple[str | None, str | None]:
    """(fingerprint, None) of the private key at ``path``; (None, None) when absent;
    (None, warning) when it exists but cannot be loaded (``Signer.load``: permissions,
    passphrase, format). Never creates a key."""
    try:
        if not path.is_file():
            return None, None
        return signing.Signer.load(path).fingerprint(), None
    except (OSError, SigningKeyError) as e:
        return None, f"local signing key {path} not used for trust: {e}"


def _local_key_paths(db_url: str | None) -> list[Path]:
    """The default key, ``db_url``'s own and demo keys, and the keys retired beside them."""
    paths = [signing.default_key_path()]
    if db_url:
        for p in (signing.key_path_for_db(db_url), signing.demo_key_path(db_url)):
            if p is not None and p not in paths:
                paths.append(p)
    retired: list[Path] = []
    for p in paths:
        try:
            retired.extend(sorted(p.parent.glob(f"{p.name}.retired-*")))
        except OSError:
            continue
    return paths + retired


def trusted_keys(
    *,
    expect_fingerprint: str | None = None,
    db_url: str | None = None,
    trusted_key_files: Iterable[str | Path] | None = None,
) -> TrustedKeys:
    """The keys ``tutela verify`` trusts (rules in the module docstring).

    ``expect_fingerprint``: 64 hex digits; when given it is the only trusted key.
    ``db_url``: a database URL whose own key (``key_path_for_db``) is trusted as well.
    ``trusted_key_files``: trusted-keys files; ``None`` reads the default file when present
    (an explicit, missing file is an ``InputError``).
    """
    if expect_fingerprint is not None:
        fp = expect_fingerprint.strip().lower()
        if not _FP.fullmatch(fp):
            raise InputError("--expect-fingerprint must be 64 hex digits")
        return TrustedKeys({fp: "--expect-fingerprint"}, expected=fp)
    keys: dict[str, str] = {}
    warnings: list[str] = []
    for p in _local_key_paths(db_url):
        local_fp, warning = _local_key(p)
        if local_fp is not None:
            keys.setdefault(local_fp, f"local signing key {p}")
        if warning is not None:
            warnings.append(warning)
    if trusted_key_files is None:
        default = default_trusted_keys_path()
        files: list[Path] = [default] if default.is_file() else []
    else:
        files = [Path(f) for f in trusted_key_files]
    for f in files:
        for fp, source in read_trusted_keys(f).items():
            keys.setdefault(fp, source)
    return TrustedKeys(keys, tuple(warnings))
