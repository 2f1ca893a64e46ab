"""RFC 3161 timestamps of a package's signed head checkpoint (``rfc3161-client``).

At export the head checkpoint's canonical JSON (``canonical_json(checkpoint.to_dict())``, which
includes its Ed25519 signature) is hashed with SHA-256 and sent to a time-stamping authority
(TSA) as a ``TimeStampReq`` with a nonce and a certificate request; the DER ``TimeStampResp`` is
stored as ``timestamp.tsr``. It proves the ledger head, and so every entry before it, existed no
later than the TSA's ``genTime``, independently of the ledger key's holder.

The transport is injectable: any callable taking the DER request and returning the DER response
(``http_transport(url)`` POSTs ``application/timestamp-query`` with httpx; tests use a local
``openssl ts -reply``).

Verification: the reply must be ``granted`` and its message imprint must equal the hash of the
head checkpoint. With TSA certificates (the TSA's issuing chain up to a trusted root) the token's
CMS signature and certificate chain are verified too (``rfc3161_client.VerifierBuilder``); without
them the token's signature is not checked against any trust anchor and only the imprint binding
is established.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import UTC
from typing import Any

from tutela.ledger.entry import format_instant
from tutela.ledger.errors import TamperError, TimestampError

__all__ = [
    "http_transport",
    "load_certificates",
    "request_timestamp",
    "timestamp_summary",
    "verify_timestamp",
]

_CONTENT_TYPE = "application/timestamp-query"
_REPLY_TYPE = "application/timestamp-reply"


def http_transport(url: str, *, timeout: float = 30.0) -> Callable[[bytes], bytes]:
    """A transport that POSTs the request to ``url`` (RFC 3161 section 3.4, HTTP).

    The returned callable raises ``TimestampError`` for a network error or a non-200 reply.
    """

    def send(request: bytes) -> bytes:
        import httpx

        try:
            r = httpx.post(
                url,
                content=request,
                headers={"Content-Type": _CONTENT_TYPE, "Accept": _REPLY_TYPE},
                timeout=timeout,
            )
        except httpx.HTTPError as e:
            raise TimestampError(f"time-stamping authority {url}: {e}") from e
        if r.status_code != 200:
            raise TimestampError(f"time-stamping authority {url}: HTTP {r.status_code}")
        return r.content

    return send


def _decode(response: bytes) -> Any:
    from rfc3161_client import decode_timestamp_response

    return decode_timestamp_response(response)


def request_timestamp(data: bytes, transport: Callable[[bytes], bytes]) -> bytes:
    """Timestamp ``data`` (SHA-256 imprint) through ``transport``; returns the DER response.

    Raises ``TimestampError`` when the transport fails, the reply does not parse, is not granted,
    or does not carry the request's imprint and nonce.
    """
    from rfc3161_client import PKIStatus, TimestampRequestBuilder
    from rfc3161_client.base import HashAlgorithm

    req = (
        TimestampRequestBuilder()
        .data(data)
        .hash_algorithm(HashAlgorithm.SHA256)
        .nonce(nonce=True)
        .cert_request(cert_request=True)
        .build()
    )
    try:
        response = transport(req.as_bytes())
    except TimestampError:
        raise
    except Exception as e:  # a user-supplied transport: keep its error as the cause
        raise TimestampError(f"time-stamping failed: {e}") from e
    try:
        resp = _decode(response)
    except (ValueError, TypeError) as e:
        raise TimestampError(f"time-stamping authority replied with garbage: {e}") from e
    if PKIStatus(resp.status) not in (PKIStatus.GRANTED, PKIStatus.GRANTED_WITH_MODS):
        raise TimestampError(f"time-stamping refused (status {resp.status}: {resp.status_string})")
    info = resp.tst_info
    if info.message_imprint.message != hashlib.sha256(data).digest() or info.nonce != req.nonce:
        raise TimestampError("time-stamping reply does not answer this request (imprint/nonce)")
    return response


def timestamp_summary(response: bytes) -> dict[str, Any]:
    """``{gen_time (ledger text), tsa (name or None), serial (decimal text), hash_algorithm
    (dotted OID), imprint (hex)}`` of a DER ``TimeStampResp``; ``TamperError`` if it does not parse.
    """
    try:
        info = _decode(response).tst_info
    except (ValueError, TypeError) as e:
        raise TamperError("timestamp.tsr", expected="RFC 3161 TimeStampResp", actual=str(e)) from e
    gen = info.gen_time
    if gen.tzinfo is None:
        gen = gen.replace(tzinfo=UTC)
    return {
        "gen_time": format_instant(gen),
        "tsa": _name(info.name),
        "serial": str(info.serial_number),
        "hash_algorithm": info.message_imprint.hash_algorithm.dotted_string,
        "imprint": info.message_imprint.message.hex(),
    }


def _name(name: Any) -> str | None:
    """A TSA's GeneralName as text (RFC 4514 for a directory name)."""
    if name is None:
        return None
    value = getattr(name, "value", name)
    to_text = getattr(value, "rfc4514_string", None)
    return str(to_text() if callable(to_text) else value)


def load_certificates(data: bytes) -> list[Any]:
    """X.509 certificates from PEM (one or more) or DER bytes; ``TimestampError`` if none."""
    from cryptography import x509

    try:
        if b"-----BEGIN" in data:
            return list(x509.load_pem_x509_certificates(data))
        return [x509.load_der_x509_certificate(data)]
    except ValueError as e:
        raise TimestampError(f"not an X.509 certificate: {e}") from e


def verify_timestamp(
    response: bytes, data: bytes, *, certificates: Sequence[bytes] | None = None
) -> dict[str, Any]:
    """Check that ``response`` (DER ``TimeStampResp``) timestamps ``data``; return its summary.

    ``certificates``: PEM/DER certificate files of the TSA's chain; self-issued ones are trust
    roots, the others intermediates. Raises ``TamperError`` for an unparseable or ungranted reply,
    an imprint that does not match ``data``, or a signature/chain that does not verify.
    """
    from rfc3161_client import PKIStatus, VerificationError, VerifierBuilder

    summary = timestamp_summary(response)
    resp = _decode(response)
    if PKIStatus(resp.status) not in (PKIStatus.GRANTED, PKIStatus.GRANTED_WITH_MODS):
        raise TamperError("timestamp.tsr status", expected="granted", actual=resp.status)
    algos = {
        "2.16.840.1.101.3.4.2.1": hashlib.sha256,
        "2.16.840.1.101.3.4.2.2": hashlib.sha384,
        "2.16.840.1.101.3.4.2.3": hashlib.sha512,
    }
    algo = algos.get(summary["hash_algorithm"])
    if algo is None:
        raise TamperError(
            "timestamp.tsr hash algorithm", expected=sorted(algos), actual=summary["hash_algorithm"]
        )
    expected = algo(data).hexdigest()
    if summary["imprint"] != expected:
        raise TamperError(
            "timestamp.tsr does not cover the head checkpoint (message imprint)",
            expected=expected,
            actual=summary["imprint"],
        )
    if certificates:
        certs = [c for blob in certificates for c in load_certificates(blob)]
        builder = VerifierBuilder()
        roots = 0
        for cert in certs:
            if cert.issuer == cert.subject:
                builder = builder.add_root_certificate(cert)
                roots += 1
            else:
                builder = builder.add_intermediate_certificate(cert)
        if roots == 0:
            raise TimestampError("--tsa-cert must include the self-signed root of the TSA chain")
        try:
            builder.build().verify_message(resp, data)
        except (VerificationError, ValueError) as e:
            raise TamperError(
                "timestamp.tsr signature or certificate chain",
                expected="signed by the given TSA chain",
                actual=str(e),
            ) from e
    return summary
