"""Signed payment webhooks (the scheme of Stripe's signatures):
`Shop-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.

The timestamp is signed too, so an old delivery cannot be replayed with a fresh time."""

from __future__ import annotations

import hashlib
import hmac
import re

from ..errors import Problem

SIGNATURE_HEADER = "Shop-Signature"
# Plain ASCII digits only (str.isdigit and int() also take "²" and "١٢٣"), and no more of them
# than a time in seconds has for centuries.
UNIX_TIME = re.compile(r"[0-9]{1,12}")


class BadSignature(Problem):
    def __init__(self, reason: str):
        super().__init__(400, "Bad webhook signature", reason, type_="bad-webhook-signature",
                         field=SIGNATURE_HEADER)


def _digest(payload: bytes, secret: str, timestamp: int) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    return f"t={timestamp},v1={_digest(payload, secret, timestamp)}"


def verify(payload: bytes, header: str | None, secrets: list[str], tolerance_seconds: int, now: int) -> None:
    """Accept the payload only if one of its v1 signatures is made with one of our secrets
    (newest first: during a rotation the old secret still verifies) and its time is recent."""
    if not header:
        raise BadSignature(f"The {SIGNATURE_HEADER} header is missing.")
    parts = [item.split("=", 1) for item in header.split(",") if "=" in item]
    timestamps = [value.strip() for name, value in parts if name.strip() == "t"]
    signatures = [value.strip() for name, value in parts if name.strip() == "v1"]
    if len(timestamps) != 1 or not UNIX_TIME.fullmatch(timestamps[0]) or not signatures:
        raise BadSignature(f"The {SIGNATURE_HEADER} header must look like t=<unix time>,v1=<hex>.")
    timestamp = int(timestamps[0])
    if timestamp < now - tolerance_seconds:
        raise BadSignature(f"The signature timestamp is more than {tolerance_seconds} s old.")
    if timestamp > now + tolerance_seconds:
        raise BadSignature(f"The signature timestamp is more than {tolerance_seconds} s in the future.")
    expected = [_digest(payload, secret, timestamp) for secret in secrets]
    # Every comparison runs in constant time, and all of them run, whichever matches.
    matches = [hmac.compare_digest(candidate, signature) for candidate in expected for signature in signatures]
    if not any(matches):
        raise BadSignature("No signature matches the payload with any current secret.")
