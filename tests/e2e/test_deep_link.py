"""The signed /start link from a receipt, opened in Telegram: linked, refused when forged or reused."""

from datetime import timedelta

from handlers.payer.deep_link import make_token
from storage.payer_links import users_linked_to
from tests.e2e.conftest import NOW, Payer

LINK_SECRET = "e2e-link-secret-that-is-long-enough-0123456789"


async def test_a_receipt_link_links_its_opener_and_no_one_else(harness, payer, client):
    await harness.stop()
    harness.overrides.update(link_secret=LINK_SECRET)
    services = (await harness.start()).services
    token = make_token(LINK_SECRET, "openid-ann", NOW + timedelta(days=7))

    [linked, *_] = await payer.say(f"/start {token}")
    assert "now linked to your payments" in linked["text"]
    [again] = await payer.say(f"/start {token}")
    assert "already linked" in again["text"]

    other = await Payer(client, 1002, first_name="Bo").join()
    [refused] = await other.say(f"/start {token}")
    assert "already used by another Telegram account" in refused["text"]
    [forged] = await other.say(f"/start {token[:-2]}AA")
    assert "not valid" in forged["text"]

    async with services.db.transaction() as session:
        assert await users_linked_to(session, payer_id="openid-ann") == [payer.id]
