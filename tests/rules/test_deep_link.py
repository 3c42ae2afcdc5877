"""The signed /start token: it round-trips, fits the limit, and refuses forged, expired, broken ones."""

import base64
import hashlib
import hmac
import re
import struct
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.payer.deep_link import (
    MAX_PAYER_ID_BYTES,
    BadLink,
    BadLinkReason,
    make_token,
    read_token,
)

SECRET = b"k" * 32
NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=30)
TELEGRAM_START = re.compile(r"[A-Za-z0-9_-]{1,64}")


def reason(secret: bytes | str, token: str, now: datetime = NOW) -> BadLinkReason:
    with pytest.raises(BadLink) as refused:
        read_token(secret, token, now)
    return refused.value.reason


@pytest.mark.parametrize(
    "payer_id", ["oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "cus_NffrFeUfNV2Hib", "138****1234", "张三"]
)
def test_a_token_names_its_payer_and_fits_the_start_parameter(payer_id):
    token = make_token(SECRET, payer_id, LATER)

    assert TELEGRAM_START.fullmatch(token)
    assert read_token(SECRET, token, NOW) == payer_id
    assert read_token(SECRET.decode(), token, NOW) == payer_id  # a str secret is its UTF-8 bytes


def test_the_longest_payer_id_fills_exactly_64_characters():
    assert MAX_PAYER_ID_BYTES == 33
    token = make_token(SECRET, "p" * 33, LATER)

    assert len(token) == 64 and TELEGRAM_START.fullmatch(token)
    assert read_token(SECRET, token, NOW) == "p" * 33


@pytest.mark.parametrize("payer_id", ["p" * 34, "p" * 64, "张" * 12])  # 12 × 3 UTF-8 bytes = 36
def test_a_payer_id_too_long_for_a_link_is_a_clear_error(payer_id):
    with pytest.raises(ValueError, match=r"at most 33 bytes"):
        make_token(SECRET, payer_id, LATER)


@pytest.mark.parametrize(
    ("secret", "payer_id", "expires_at"),
    [(b"", "p1", LATER), ("", "p1", LATER), (SECRET, "", LATER), (SECRET, "p1", LATER.replace(tzinfo=None)),
     (SECRET, "p1", datetime(2200, 1, 1, tzinfo=UTC))],
)
def test_what_cannot_make_a_token(secret, payer_id, expires_at):
    with pytest.raises(ValueError):
        make_token(secret, payer_id, expires_at)


def test_an_expired_token_is_refused_from_its_expiry_on():
    token = make_token(SECRET, "p1", LATER)

    assert read_token(SECRET, token, LATER - timedelta(seconds=1)) == "p1"
    assert reason(SECRET, token, LATER) is BadLinkReason.EXPIRED
    assert reason(SECRET, token, LATER + timedelta(days=400)) is BadLinkReason.EXPIRED


def test_a_token_signed_with_another_secret_is_tampered():
    token = make_token(b"another secret of the same length", "p1", LATER)

    assert reason(SECRET, token) is BadLinkReason.TAMPERED


def raw(token: str) -> bytearray:
    return bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))


def spelled(data: bytes) -> str:
    return base64.urlsafe_b64encode(bytes(data)).decode().rstrip("=")


@pytest.mark.parametrize("position", range(5 + 17 + 10))  # version, expiry, payer id, MAC
def test_any_changed_byte_is_tampered(position):
    token = make_token(SECRET, "payer-00000000001", LATER)  # 17 bytes of payer id
    data = raw(token)
    data[position] ^= 0x01

    assert reason(SECRET, spelled(data)) is BadLinkReason.TAMPERED


def test_an_extended_expiry_or_another_payer_cannot_be_spliced_in():
    token = make_token(SECRET, "payer-1", LATER)
    data = raw(token)
    body, mac = data[:-10], data[-10:]
    longer = struct.pack(">BI", 1, int((LATER + timedelta(days=3650)).timestamp())) + body[5:]
    other = body[:5] + b"payer-2"

    assert reason(SECRET, spelled(longer + mac)) is BadLinkReason.TAMPERED
    assert reason(SECRET, spelled(other + mac)) is BadLinkReason.TAMPERED
    assert reason(SECRET, spelled(body[:-1] + mac)) is BadLinkReason.TAMPERED


def test_the_mac_is_separated_from_other_uses_of_the_secret():
    """A plain HMAC of the body (say, from another feature that shares the secret) is no signature here."""
    body = struct.pack(">BI", 1, int(LATER.timestamp())) + b"p1"
    plain = hmac.new(SECRET, body, hashlib.sha256).digest()[:10]

    assert reason(SECRET, spelled(body + plain)) is BadLinkReason.TAMPERED


def test_an_unknown_version_signed_with_the_secret_is_malformed():
    from handlers.payer.deep_link import DOMAIN

    body = struct.pack(">BI", 2, int(LATER.timestamp())) + b"p1"
    mac = hmac.new(SECRET, DOMAIN + body, hashlib.sha256).digest()[:10]

    assert reason(SECRET, spelled(body + mac)) is BadLinkReason.MALFORMED


@pytest.mark.parametrize(
    "token",
    ["", "a", "abcde", "x" * 65, "AAAA" * 17, "has space" + "A" * 20, "plus+slash/" + "A" * 20,
     "padded==" + "A" * 20, "é" * 30, "\x00" * 30, "A" * 20, "A" * 21],
)
def test_malformed_strings_are_refused_as_such(token):
    assert reason(SECRET, token) is BadLinkReason.MALFORMED


def test_only_the_canonical_spelling_is_accepted():
    """Base64 leaves spare bits in the last character; a token with them set is not the one that was made."""
    token = make_token(SECRET, "p1", LATER)
    assert len(token) % 4 != 0  # so the last character carries spare bits
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    twin = token[:-1] + alphabet[alphabet.index(token[-1]) ^ 1]

    assert raw(twin) == raw(token)
    assert reason(SECRET, twin) is BadLinkReason.MALFORMED


def test_a_merchant_back_end_can_make_a_token_from_the_documented_scheme():
    """The README's snippet for merchants: version, expiry, payer id, 10-byte MAC with the domain prefix."""
    payer_id = "cus_42"
    body = bytes([1]) + int(LATER.timestamp()).to_bytes(4, "big") + payer_id.encode("utf-8")
    mac = hmac.new(SECRET, b"refund-assistant/payer-deep-link\x00" + body, hashlib.sha256).digest()[:10]
    token = base64.urlsafe_b64encode(body + mac).rstrip(b"=").decode()

    assert token == make_token(SECRET, "cus_42", LATER)
    assert read_token(SECRET, token, NOW) == "cus_42"


@given(
    payer_id=st.text(min_size=1, max_size=33).filter(lambda s: 0 < len(s.encode()) <= 33),
    seconds=st.integers(min_value=1, max_value=10 * 365 * 86400),
)
def test_every_payer_id_that_fits_round_trips_within_the_limit(payer_id, seconds):
    token = make_token(SECRET, payer_id, NOW + timedelta(seconds=seconds))

    assert TELEGRAM_START.fullmatch(token)
    assert read_token(SECRET, token, NOW) == payer_id


@given(token=st.text(max_size=80))
def test_no_string_crashes_the_reader(token):
    try:
        read_token(SECRET, token, NOW)
    except BadLink as refused:
        assert refused.reason in (BadLinkReason.MALFORMED, BadLinkReason.TAMPERED)
