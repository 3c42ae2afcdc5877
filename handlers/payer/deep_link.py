"""The signed /start token that tells the bot which payer of the merchant a Telegram user is.

token = base64url_nopad(body || mac), body = version (1 byte) || expiry (unix seconds, 4 bytes big-endian)
|| payer id (UTF-8), mac = HMAC-SHA256(secret, DOMAIN || body)[:10]. It fits Telegram's /start parameter
(at most 64 characters of A-Z a-z 0-9 _ -), and a merchant's back end can make one without calling the bot.
"""

import base64
import hashlib
import hmac
import struct
from datetime import UTC, datetime
from enum import StrEnum

VERSION = 1
DOMAIN = b"refund-assistant/payer-deep-link\x00"  # a MAC made for anything else never verifies here
MAC_BYTES = 10
MAX_TOKEN_CHARS = 64  # Telegram's limit for a /start parameter
_HEADER = struct.Struct(">BI")  # version, expiry
_MAX_BYTES = MAX_TOKEN_CHARS * 3 // 4
MAX_PAYER_ID_BYTES = _MAX_BYTES - _HEADER.size - MAC_BYTES  # 33
_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


class BadLinkReason(StrEnum):
    """Why a token was refused."""

    MALFORMED = "malformed"
    TAMPERED = "tampered"
    EXPIRED = "expired"


class BadLink(Exception):
    """A /start token that does not name a payer."""

    def __init__(self, reason: BadLinkReason) -> None:
        super().__init__(f"deep link refused: {reason}")
        self.reason = reason


def make_token(secret: bytes | str, payer_id: str, expires_at: datetime) -> str:
    """A token saying `payer_id` until `expires_at`; ValueError when the payer id does not fit."""
    key = _key(secret)
    payer = payer_id.encode("utf-8")
    if not payer:
        raise ValueError("the payer id is empty")
    if len(payer) > MAX_PAYER_ID_BYTES:
        raise ValueError(
            f"payer id {payer_id!r} is {len(payer)} bytes (UTF-8); a deep link holds at most "
            f"{MAX_PAYER_ID_BYTES} bytes"
        )
    if expires_at.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware")
    expiry = int(expires_at.timestamp())
    if not 0 < expiry < 2**32:
        raise ValueError(f"expiry {expires_at.isoformat()} is out of range (1970 to 2106)")
    body = _HEADER.pack(VERSION, expiry) + payer
    return base64.urlsafe_b64encode(body + _mac(key, body)).decode("ascii").rstrip("=")


def read_token(secret: bytes | str, token: str, now: datetime) -> str:
    """The payer id a token names; BadLink when it is malformed, tampered with or expired."""
    key = _key(secret)
    raw = _decode(token)
    body, mac = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
    if not hmac.compare_digest(mac, _mac(key, body)):
        raise BadLink(BadLinkReason.TAMPERED)
    version, expiry = _HEADER.unpack_from(body)
    if version != VERSION:
        raise BadLink(BadLinkReason.MALFORMED)  # signed with our secret, by a scheme we do not know
    if now >= datetime.fromtimestamp(expiry, UTC):
        raise BadLink(BadLinkReason.EXPIRED)
    try:
        return body[_HEADER.size:].decode("utf-8")
    except UnicodeDecodeError:
        raise BadLink(BadLinkReason.MALFORMED) from None


def _decode(token: str) -> bytes:
    """The token's bytes; only the one canonical spelling of long enough bytes is accepted."""
    if not 0 < len(token) <= MAX_TOKEN_CHARS or not set(token) <= _ALPHABET:
        raise BadLink(BadLinkReason.MALFORMED)
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except ValueError:
        raise BadLink(BadLinkReason.MALFORMED) from None
    canonical = base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=") == token
    if not canonical or len(raw) <= _HEADER.size + MAC_BYTES:
        raise BadLink(BadLinkReason.MALFORMED)
    return raw


def _key(secret: bytes | str) -> bytes:
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    if not key:
        raise ValueError("the link secret is empty")
    return key


def _mac(key: bytes, body: bytes) -> bytes:
    return hmac.new(key, DOMAIN + body, hashlib.sha256).digest()[:MAC_BYTES]
