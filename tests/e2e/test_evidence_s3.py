"""EVIDENCE_STORE=s3 end to end: the screenshot in the bucket, on the card, and gone after GC and /forget."""

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.conftest import Payer, image_bytes
from tests.e2e.test_report_flow import CHARGE_1, CHARGE_2
from tests.e2e.test_support_desk import ALICE, GROUP, body, card_like, last_id, next_matching
from tests.evidence.stores import StoreUnderTest, s3_bucket, s3_endpoint, s3_settings  # noqa: F401 (fixtures)


async def until_review(payer: Payer, picture: bytes) -> dict:
    for answer in ("/report", "A1", "99", "2026-11-26 14:32"):
        await payer.say(answer)
    [review] = await payer.photo(picture)
    return review


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.transcript_skips_chats(GROUP, reason="the clock jumps 12 days for the clean-up: whether the SLA "
                                                  "ping fires before the bot stops is the test's own race")
async def test_screenshots_live_in_the_bucket_from_report_to_card_to_clean_up(
    harness, client, sandbox, s3_endpoint, s3_bucket  # noqa: F811 (fixtures imported above)
):
    await client.create_user(ALICE, first_name="Alice")
    await client.create_group(GROUP, "Refund support", is_forum=False, member_ids=[ALICE])
    await harness.stop()
    harness.overrides.update(support_chat_id=str(GROUP), support_user_ids=str(ALICE),
                             **s3_settings(s3_endpoint, s3_bucket))
    await harness.start()
    await harness.import_charges(("tx1", "A1", "99.00", "CNY", "succeeded", CHARGE_1),
                                 ("tx2", "A1", "99.00", "CNY", "succeeded", CHARGE_2))
    bucket = StoreUnderTest.s3(s3_endpoint, s3_bucket)

    ann = await Payer(client, 1001).join()
    filed_shot = image_bytes("PNG", (40, 61))
    before = await last_id(client, GROUP)
    [filed] = await ann.press(await until_review(ann, filed_shot), "Submit")
    reference = next(word.rstrip(".") for word in filed["text"].split() if word.startswith("RF-"))
    assert bucket.keys() == [f"evidence/{sha(filed_shot)[:2]}/{sha(filed_shot)}"]
    assert not (harness.data_dir / "evidence").exists()  # nothing on this host's disk
    card = await next_matching(client, GROUP, before, lambda m: card_like(m) and reference in body(m))
    assert sandbox.state.files.get(card["photo"][-1]["file_id"]).data == filed_shot  # read from the bucket

    bob = await Payer(client, 1002, first_name="Bob").join()
    forgotten_shot = image_bytes("PNG", (40, 62))
    await until_review(bob, forgotten_shot)
    assert sha(forgotten_shot) in bucket.hashes()
    asked = await bob.ask("/forget")
    await bob.press(asked, "Delete my data")
    assert sha(forgotten_shot) not in bucket.hashes()

    cid = await Payer(client, 1003, first_name="Cid").join()
    cancelled_shot = image_bytes("PNG", (40, 63))
    await cid.press(await until_review(cid, cancelled_shot), "Cancel")
    assert bucket.hashes() == sorted([sha(filed_shot), sha(cancelled_shot)])
    services = harness.running.services
    harness.clock.now = datetime.now(UTC) + timedelta(days=8)  # past the retention of the bucket's own clock
    cleanup = await services.evidence_collector().collect()
    assert [row.sha256 for row in cleanup.rows] == [sha(cancelled_shot)]
    assert bucket.hashes() == [sha(filed_shot)]  # the filed screenshot stays
