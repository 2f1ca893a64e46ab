"""Ed25519 checkpoints over the ledger head.

A checkpoint signs ``CHECKPOINT_DOMAIN + seq.to_bytes(8, "big") + bytes.fromhex(entry_hash)``
(``CHECKPOINT_DOMAIN = b"tutela-checkpoint-v1\\x00"``): the signer vouches that entry ``seq`` of
the chain had hash ``entry_hash``, and therefore for every entry before it. Key fingerprint =
lowercase hex SHA-256 of the 32-byte raw public key.

An evidence package's manifest is signed by the same key over
``MANIFEST_DOMAIN + sha256(manifest bytes)``
(``MANIFEST_DOMAIN = b"tutela-package-manifest-v1\\x00"``), so no member of a package can be
changed and its manifest hash fixed up without the private key.

The private key is a PKCS#8 PEM file created with mode 0600 on first use
(``Signer.load_or_create``).
On POSIX a key file readable or writable by group or others is refused (``SigningKeyError``).
The PEM may be encrypted (PKCS#8 ``BestAvailableEncryption``); its passphrase comes from the
``passphrase`` argument, else the environment variable ``TUTELA_KEY_PASSPHRASE`` (UTF-8); a
missing or wrong passphrase is a ``SigningKeyError`` saying which. ``TUTELA_KEY_PASSPHRASE`` also
encrypts a key created by ``load_or_create``.

Key rotation: the old key signs ``KEY_ROTATION_DOMAIN + old raw public key + new raw public key``
(``KEY_ROTATION_DOMAIN = b"tutela-key-rotation-v1\\x00"``); the handover is recorded in the ledger
(``tutela.store.Recorder.rotate_key``), and verifiers accept checkpoints by the new key after it.

A demonstration database signs with its own demo key (``demo_key_path``), never the production
key.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from tutela.errors import InputError
from tutela.ledger.entry import _HEX64, _INSTANT, format_instant
from tutela.ledger.errors import SigningKeyError
from tutela.private import data_dir, private_folder, refuse_shared, write_new_file

__all__ = [
    "CHECKPOINT_DOMAIN",
    "MANIFEST_DOMAIN",
    "Checkpoint",
    "Signer",
    "checkpoint_message",
    "default_key_path",
    "demo_key_path",
    "fingerprint",
    "handover_message",
    "key_path_for_db",
    "load_public_key",
    "manifest_message",
    "read_passphrase_file",
    "verify_checkpoint_signature",
    "verify_handover",
    "verify_manifest_signature",
]

CHECKPOINT_DOMAIN = b"tutela-checkpoint-v1\x00"
MANIFEST_DOMAIN = b"tutela-package-manifest-v1\x00"
KEY_ROTATION_DOMAIN = b"tutela-key-rotation-v1\x00"
PASSPHRASE_ENV = "TUTELA_KEY_PASSPHRASE"
DEMO_FOLDER_PREFIX = "tutela-demo-"
_HEX128 = re.compile(r"[0-9a-f]{128}")


def default_key_path() -> Path:
    """``<tutela.private.data_dir()>/ledger-signing-key.pem`` (``platformdirs``'
    ``user_data_dir("tutela")``)."""
    return data_dir() / "ledger-signing-key.pem"


def _sqlite_file(url: str) -> Path | None:
    if url.startswith("sqlite:///"):
        db = url.removeprefix("sqlite:///").split("?", 1)[0]
        if db and db != ":memory:" and not db.startswith("file:"):
            return Path(db)
    return None


def key_path_for_db(url: str) -> Path | None:
    """The signing key that belongs to a database, or ``None`` for the default key.

    A SQLite file inside a folder named ``tutela-demo-*`` (a ``tutela demo`` database) keeps its
    own key beside it: ``<that folder>/signing-key.pem``; a SQLite file that ``tutela demo`` ran
    against elsewhere has its demo key ``<file>.demo-signing-key.pem`` (``demo_key_path``), used
    when it exists. Every other URL uses ``default_key_path()`` (return value ``None``, as
    ``Signer.load_or_create`` expects).
    """
    db = _sqlite_file(url)
    if db is not None:
        if db.parent.name.startswith(DEMO_FOLDER_PREFIX):
            return db.parent / "signing-key.pem"
        demo = db.with_name(db.name + ".demo-signing-key.pem")
        if demo.exists():
            return demo
    return None


def demo_key_path(url: str) -> Path:
    """The key that signs a demonstration run against ``url`` (``tutela demo``), never the
    production key (``default_key_path()``): ``<tutela-demo-* folder>/signing-key.pem``; for
    another SQLite file ``<file>.demo-signing-key.pem`` beside it; for other databases
    ``<default key folder>/demo-signing-key.pem``.
    """
    db = _sqlite_file(url)
    if db is not None:
        if db.parent.name.startswith(DEMO_FOLDER_PREFIX):
            return db.parent / "signing-key.pem"
        return db.with_name(db.name + ".demo-signing-key.pem")
    return default_key_path().with_name("demo-signing-key.pem")


def handover_message(old: Ed25519PublicKey, new: Ed25519PublicKey) -> bytes:
    """The exact bytes the old key signs when handing over to ``new`` (module docstring)."""
    raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw
    return KEY_ROTATION_DOMAIN + old.public_bytes(*raw) + new.public_bytes(*raw)


def verify_handover(old: Ed25519PublicKey, new: Ed25519PublicKey, signature: str) -> bool:
    """True when ``signature`` (128 hex digits) is ``old``'s handover to ``new``."""
    if not isinstance(signature, str) or not _HEX128.fullmatch(signature):
        return False
    try:
        old.verify(bytes.fromhex(signature), handover_message(old, new))
    except InvalidSignature:
        return False
    return True


MAX_PASSPHRASE_BYTES = 1023
"""Longest passphrase OpenSSL's PEM encryption accepts (``cryptography`` refuses longer ones)."""


def _passphrase(given: bytes | str | None) -> bytes | None:
    """The passphrase as bytes (``given``, else ``$TUTELA_KEY_PASSPHRASE``), or ``None``;
    ``SigningKeyError`` for one that is not UTF-8 text or is over ``MAX_PASSPHRASE_BYTES``."""
    value = given if given is not None else os.environ.get(PASSPHRASE_ENV)
    if value is None or value == "":
        return None
    try:
        raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    except UnicodeEncodeError as e:
        raise SigningKeyError("the signing-key passphrase is not valid UTF-8 text") from e
    if len(raw) > MAX_PASSPHRASE_BYTES:
        raise SigningKeyError(
            f"the signing-key passphrase has {len(raw)} bytes; at most {MAX_PASSPHRASE_BYTES} "
            "are supported"
        )
    return raw


def read_passphrase_file(path: str | os.PathLike[str]) -> bytes:
    """A passphrase from a file (first line, without its line break); ``SigningKeyError`` when
    it cannot be read, is not a regular file (a FIFO or device such as ``/dev/zero``: refused
    without blocking), is larger than 1 MiB (``tutela.files.MAX_SMALL_FILE``) or is
    empty."""
    from tutela.files import read_small_file

    data = read_small_file(path, what="passphrase file", error=SigningKeyError)
    line = data.splitlines()[0] if data.strip() else b""
    if not line:
        raise SigningKeyError(f"{path}: passphrase file is empty")
    return line


def manifest_message(manifest: bytes) -> bytes:
    """The exact bytes a package manifest signature covers (see module docstring)."""
    return MANIFEST_DOMAIN + hashlib.sha256(manifest).digest()


def verify_manifest_signature(
    manifest: bytes, signature: str, public_key: Ed25519PublicKey
) -> bool:
    """True when ``signature`` (128 hex digits) is ``public_key``'s signature of ``manifest``."""
    if not isinstance(signature, str) or not _HEX128.fullmatch(signature):
        return False
    try:
        public_key.verify(bytes.fromhex(signature), manifest_message(manifest))
    except InvalidSignature:
        return False
    return True


def checkpoint_message(seq: int, entry_hash: str) -> bytes:
    """The exact bytes a checkpoint signature covers (see module docstring)."""
    if isinstance(seq, bool) or not isinstance(seq, int) or not 1 <= seq < 2**63:
        raise InputError(f"checkpoint seq must be a positive 64-bit integer, got {seq!r}")
    if not isinstance(entry_hash, str) or not _HEX64.fullmatch(entry_hash):
        raise InputError(f"entry_hash must be 64 lowercase hex digits, got {entry_hash!r}")
    return CHECKPOINT_DOMAIN + seq.to_bytes(8, "big") + bytes.fromhex(entry_hash)


def load_public_key(key: Ed25519PublicKey | bytes | str) -> Ed25519PublicKey:
    """Accept a key object, 32 raw bytes, or PEM text/bytes; ``InputError`` otherwise."""
    if isinstance(key, Ed25519PublicKey):
        return key
    try:
        if isinstance(key, bytes) and len(key) == 32:
            return Ed25519PublicKey.from_public_bytes(key)
        data = key.encode("ascii") if isinstance(key, str) else key
        loaded = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm, UnicodeEncodeError, TypeError) as e:
        raise InputError(f"not an Ed25519 public key: {e}") from e
    if not isinstance(loaded, Ed25519PublicKey):
        raise InputError("public key is not Ed25519")
    return loaded


def fingerprint(public_key: Ed25519PublicKey | bytes | str) -> str:
    """Lowercase hex SHA-256 of the raw 32-byte public key."""
    raw = load_public_key(public_key).public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed statement that ledger entry ``seq`` had hash ``entry_hash``.

    ``signature`` is the 64-byte Ed25519 signature in lowercase hex; ``at`` is ledger instant
    text. Raises ``InputError`` when a field is malformed.
    """

    seq: int
    entry_hash: str
    signature: str
    key_fingerprint: str
    at: str

    def __post_init__(self) -> None:
        checkpoint_message(self.seq, self.entry_hash)
        if not isinstance(self.key_fingerprint, str) or not _HEX64.fullmatch(self.key_fingerprint):
            raise InputError(f"key_fingerprint must be 64 hex digits: {self.key_fingerprint!r}")
        if not isinstance(self.signature, str) or not _HEX128.fullmatch(self.signature):
            raise InputError("signature must be 128 lowercase hex digits")
        if not isinstance(self.at, str) or not _INSTANT.fullmatch(self.at):
            raise InputError(f"at must be UTC ISO 8601 ending in 'Z', got {self.at!r}")

    def to_dict(self) -> dict[str, object]:
        """The checkpoint as a plain JSON object."""
        return {
            "seq": self.seq,
            "entry_hash": self.entry_hash,
            "signature": self.signature,
            "key_fingerprint": self.key_fingerprint,
            "at": self.at,
        }


def verify_checkpoint_signature(checkpoint: Checkpoint, public_key: Ed25519PublicKey) -> bool:
    """True when ``checkpoint.signature`` is valid for ``public_key``."""
    try:
        public_key.verify(
            bytes.fromhex(checkpoint.signature),
            checkpoint_message(checkpoint.seq, checkpoint.entry_hash),
        )
    except InvalidSignature:
        return False
    return True


class Signer:
    """Holds the Ed25519 private key that signs ledger checkpoints."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.public_key: Ed25519PublicKey = private_key.public_key()
        self._fingerprint = fingerprint(self.public_key)

    @classmethod
    def generate(cls) -> Signer:
        """A signer with a fresh in-memory key (tests, demos)."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load_or_create(
        cls, path: str | os.PathLike[str] | None = None, *, passphrase: bytes | str | None = None
    ) -> Signer:
        """Load the key at ``path`` (default ``default_key_path()``), creating it if absent.

        A new key file is written with mode 0600 (its folder 0700 when created), encrypted when a
        passphrase is given (``passphrase`` or ``TUTELA_KEY_PASSPHRASE``). Raises
        ``SigningKeyError`` when the file is readable/writable by group or others (POSIX), cannot
        be read, is not a PKCS#8 Ed25519 private key, is encrypted and no passphrase was given,
        or the passphrase is wrong.
        """
        p = Path(path) if path is not None else default_key_path()
        if not p.exists():
            cls.create(p, passphrase=passphrase, exist_ok=True)
        return cls.load(p, passphrase=passphrase)

    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        *,
        passphrase: bytes | str | None = None,
        exist_ok: bool = False,
    ) -> Signer:
        """Write a fresh key to ``path`` (0600, folder 0700 when created; encrypted with
        ``BestAvailableEncryption`` when a passphrase is given) and return its signer.

        Raises ``SigningKeyError`` when the file exists (unless ``exist_ok``, which then loads
        it) or cannot be written.
        """
        p = Path(path)
        secret = _passphrase(passphrase)
        try:
            private_folder(p.parent)
        except OSError as e:
            raise SigningKeyError(f"{p}: cannot create signing key folder: {e}") from e
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(secret)
            if secret
            else serialization.NoEncryption(),
        )
        try:
            write_new_file(p, pem)
        except FileExistsError as e:  # created concurrently: load that one
            if not exist_ok:
                raise SigningKeyError(f"{p}: a signing key already exists") from e
            return cls.load(p, passphrase=passphrase)
        except OSError as e:
            raise SigningKeyError(f"{p}: cannot create signing key: {e}") from e
        return cls(key)

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, passphrase: bytes | str | None = None) -> Signer:
        """Load an existing key (never creates one); errors as ``load_or_create``, and
        ``SigningKeyError`` for a missing file, one that is not a regular file (a FIFO, a device)
        or one over 1 MiB."""
        from tutela.files import read_small_file

        p = Path(path)
        try:
            refuse_shared(p, what="signing key", error=SigningKeyError)
            data = read_small_file(p, what="signing key", error=SigningKeyError)  # not a FIFO
        except OSError as e:
            raise SigningKeyError(f"{p}: cannot read signing key: {e}") from e
        secret = _passphrase(passphrase)
        encrypted = b"ENCRYPTED" in data.split(b"\n", 1)[0]
        if encrypted and not secret:
            raise SigningKeyError(
                f"{p}: the signing key is passphrase-protected: set {PASSPHRASE_ENV} "
                "or give --passphrase-file"
            )
        try:
            key = serialization.load_pem_private_key(data, password=secret if encrypted else None)
        except (ValueError, TypeError, UnsupportedAlgorithm) as e:
            if encrypted:
                raise SigningKeyError(f"{p}: wrong passphrase for the signing key") from e
            raise SigningKeyError(f"{p}: not a PEM private key: {e}") from e
        if not isinstance(key, Ed25519PrivateKey):
            raise SigningKeyError(f"{p}: signing key is not Ed25519")
        return cls(key)

    def fingerprint(self) -> str:
        """Lowercase hex SHA-256 of the raw public key (show it to the people who will verify)."""
        return self._fingerprint

    def public_key_bytes(self) -> bytes:
        """The 32-byte raw public key."""
        return self.public_key.public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    def public_key_pem(self) -> str:
        """The public key as SubjectPublicKeyInfo PEM text."""
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")

    def sign_manifest(self, manifest: bytes) -> str:
        """Sign a package manifest's exact bytes; returns the signature as 128 hex digits."""
        return self._key.sign(manifest_message(manifest)).hex()

    def sign_handover(self, new_public_key: Ed25519PublicKey) -> str:
        """Hand the ledger over to ``new_public_key`` (``handover_message``); 128 hex digits."""
        return self._key.sign(handover_message(self.public_key, new_public_key)).hex()

    def sign_checkpoint(self, seq: int, entry_hash: str, at: datetime) -> Checkpoint:
        """Sign ``(seq, entry_hash)``; ``at`` is an aware instant."""
        signature = self._key.sign(checkpoint_message(seq, entry_hash)).hex()
        return Checkpoint(
            seq=seq,
            entry_hash=entry_hash,
            signature=signature,
            key_fingerprint=self._fingerprint,
            at=format_instant(at),
        )
