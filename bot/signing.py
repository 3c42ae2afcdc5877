"""HMAC-SHA256 signatures over a timestamp and a body, as the merchant webhooks use them."""

import hashlib
import hmac
import re
from datetime import datetime, timedelta

TIMESTAMP_HEADER = "X-Refund-Timestamp"
SIGNATURE_HEADER = "X-Refund-Signature"
UNIX_SECONDS = re.compile(r"[0-9]{1,12}")


class SignatureError(Exception):
    """A request whose signature cannot be trusted; `reason` says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of `{timestamp}.{body}` with the shared secret."""
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(
    secret: str,
    *,
    timestamp_header: str | None,
    signature_header: str | None,
    body: bytes,
    now: datetime,
    max_age: timedelta = timedelta(minutes=5),
) -> None:
    """Accept a fresh, correctly signed body or raise SignatureError."""
    if not timestamp_header or not signature_header:
        raise SignatureError("missing signature headers")
    # int() would also take " 12", "1_000" and non-ASCII digits; the header is plain unix seconds.
    if not UNIX_SECONDS.fullmatch(timestamp_header):
        raise SignatureError("timestamp is not an integer")
    timestamp = int(timestamp_header)
    age = now.timestamp() - timestamp
    if age > max_age.total_seconds():
        raise SignatureError("timestamp too old (replayed?)")
    if -age > max_age.total_seconds():
        raise SignatureError("timestamp in the future")
    expected = sign(secret, timestamp, body)
    # Compared as bytes: compare_digest refuses non-ASCII str, and the header is the sender's.
    if not hmac.compare_digest(expected.encode(), signature_header.encode(errors="replace")):
        raise SignatureError("wrong signature")
