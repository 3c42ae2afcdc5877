"""EVIDENCE_STORE=s3: the content-addressed layout in a bucket; a bucket that is down loses no report."""

import hashlib
import logging
import socket
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import ConfigError, load_settings
from bot.evidence_s3 import S3EvidenceStore
from bot.wiring import make_evidence_store
from handlers.ports import EvidenceUnavailable
from tests.evidence.conftest import DeskPayer, Downloads, evidence_rows, image, make_desk, step_of
from tests.evidence.stores import PREFIX, StoreUnderTest, raw_client, s3_settings


def dead_endpoint() -> str:
    """The address of a local port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def store_that_is_down() -> S3EvidenceStore:
    return S3EvidenceStore(raw_client(dead_endpoint(), attempts=1), "evidence-down", PREFIX)


async def test_bytes_are_stored_once_under_their_hash_like_on_disk(s3_endpoint, s3_bucket):
    files = StoreUnderTest.s3(s3_endpoint, s3_bucket)
    data = image("PNG", (10, 10), (1, 2, 3))
    sha256 = hashlib.sha256(data).hexdigest()
    assert await files.store.save(data) == sha256
    assert await files.store.save(data) == sha256
    assert files.keys() == [f"evidence/{sha256[:2]}/{sha256}"]
    assert await files.store.load(sha256) == data
    with pytest.raises(FileNotFoundError):
        await files.store.load("0" * 64)
    past, future = datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC) + timedelta(minutes=1)
    assert await files.store.delete(sha256, unless_modified_after=past) is None  # saved since: kept
    assert await files.store.delete(sha256, unless_modified_after=future) == len(data)
    assert files.keys() == [] and await files.store.delete(sha256, unless_modified_after=future) is None


async def test_objects_outside_the_layout_are_never_collected(s3_endpoint, s3_bucket):
    files = StoreUnderTest.s3(s3_endpoint, s3_bucket)
    client = raw_client(s3_endpoint)
    sha256 = await files.store.save(b"bytes")
    for other in ("backups/db.sql", f"{PREFIX}notes.txt", f"{PREFIX}zz/{sha256}", sha256):
        client.put_object(Bucket=s3_bucket, Key=other, Body=b"keep me")
    future = datetime.now(UTC) + timedelta(minutes=1)
    assert await files.store.hashes_older_than(future) == [sha256]


async def test_a_bucket_that_is_down_asks_the_payer_to_send_again_and_keeps_the_report(
    db, tmp_path, s3_endpoint, s3_bucket, caplog
):
    shot = image("PNG", (12, 12), (9, 9, 9))
    desk = make_desk(db, tmp_path, Downloads({"shot": shot}), evidence=store_that_is_down())
    payer = DeskPayer(desk)
    await payer.reach_screenshot_step()
    with caplog.at_level(logging.ERROR):
        reply = await payer.photo("shot")
    assert reply.text == f"⚠️ {payer.says('screenshot.store_failed')}\n\n{payer.says('ask.screenshot')}"
    assert await step_of(db) == "screenshot" and await evidence_rows(db) == []
    [logged] = [r for r in caplog.records if "evidence store could not keep" in r.getMessage()]
    assert "evidence-down" in logged.getMessage()  # the operator is told which bucket

    files = StoreUnderTest.s3(s3_endpoint, s3_bucket)  # the bucket is back
    desk.evidence = files.store
    assert (await payer.photo("shot")).text.startswith(payer.says("ack.screenshot"))
    assert files.hashes() == [hashlib.sha256(shot).hexdigest()]


async def test_the_s3_store_comes_from_the_settings_and_says_when_its_bucket_is_out_of_reach(
    s3_endpoint, s3_bucket, caplog
):
    store = await make_evidence_store(load_settings(bot_token="1:x", **s3_settings(s3_endpoint, s3_bucket)))
    assert isinstance(store, S3EvidenceStore) and (store.bucket, store.prefix) == (s3_bucket, PREFIX)
    await store.check()
    with caplog.at_level(logging.ERROR):
        await make_evidence_store(load_settings(bot_token="1:x", **s3_settings(dead_endpoint(), "elsewhere")))
    assert any("cannot reach the bucket" in r.getMessage() and "elsewhere" in r.getMessage()
               for r in caplog.records)
    with pytest.raises(EvidenceUnavailable, match="elsewhere"):
        await S3EvidenceStore(raw_client(dead_endpoint(), attempts=1), "elsewhere").check()


def test_s3_needs_a_bucket():
    with pytest.raises(ConfigError, match="S3_BUCKET"):
        load_settings(bot_token="1:x", evidence_store="s3")
    assert load_settings(bot_token="1:x").evidence_store == "local"
