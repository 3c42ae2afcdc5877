"""Signatures over timestamp and body: right ones pass, everything else is refused with its reason."""

from datetime import UTC, datetime, timedelta

import pytest

from bot.signing import SignatureError, sign, verify

SECRET = "whsec_test"
NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
STAMP = int(NOW.timestamp())
BODY = b'{"status":"succeeded"}'


def check(*, timestamp: str | None = str(STAMP), signature: str | None = None, body: bytes = BODY,
          now: datetime = NOW, secret: str = SECRET) -> None:
    if signature is None:
        signature = sign(SECRET, STAMP, BODY)
    verify(secret, timestamp_header=timestamp, signature_header=signature, body=body, now=now)


def test_signature_matches_an_independent_hmac():
    # openssl: printf '1764144000.{"status":"succeeded"}' | openssl dgst -sha256 -hmac whsec_test
    expected = "d7d7d11072e902c09efeb111126c50175723ec03fd025086423dc04eedfacc52"
    assert sign(SECRET, 1764144000, BODY) == expected


@pytest.mark.parametrize(
    "age", [timedelta(0), timedelta(minutes=5), -timedelta(minutes=5), timedelta(seconds=-30)]
)
def test_a_fresh_correct_signature_passes(age):
    check(now=NOW + age)


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"timestamp": None}, "missing signature headers"),
        ({"timestamp": ""}, "missing signature headers"),
        ({"signature": ""}, "missing signature headers"),
        ({"timestamp": "soon"}, "timestamp is not an integer"),
        ({"timestamp": f"{STAMP}.5"}, "timestamp is not an integer"),
        ({"timestamp": f"-{STAMP}"}, "timestamp is not an integer"),
        ({"timestamp": f" {STAMP}"}, "timestamp is not an integer"),
        ({"timestamp": "١٢٣"}, "timestamp is not an integer"),
        ({"now": NOW + timedelta(minutes=5, seconds=1)}, "timestamp too old (replayed?)"),
        ({"now": NOW + timedelta(days=1)}, "timestamp too old (replayed?)"),
        ({"now": NOW - timedelta(minutes=5, seconds=1)}, "timestamp in the future"),
        ({"body": b'{"status":"failed"}'}, "wrong signature"),
        ({"secret": "whsec_other"}, "wrong signature"),
        ({"timestamp": str(STAMP + 1)}, "wrong signature"),
        ({"signature": sign(SECRET, STAMP, BODY).upper()}, "wrong signature"),
        ({"signature": sign(SECRET, STAMP, BODY)[:-1]}, "wrong signature"),
        ({"signature": "é" * 64}, "wrong signature"),
        ({"signature": "\ud800" * 64}, "wrong signature"),
    ],
)
def test_refusals_say_why(overrides, reason):
    with pytest.raises(SignatureError) as refused:
        check(**overrides)
    assert refused.value.reason == reason
    assert str(refused.value) == reason
