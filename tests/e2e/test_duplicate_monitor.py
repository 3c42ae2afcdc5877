"""The duplicate monitor through the real runtime: a signed feed event in, the payer's question out, "Yes"."""

import json
from datetime import timedelta

import aiohttp

from bot.http_api import serve_merchant_endpoints
from bot.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from storage.payer_links import link_payers
from storage.tickets import all_tickets
from tests.e2e.conftest import NOW
from tests.e2e.test_refund_flow import next_notice, the_ticket

SECRET = "feed-secret-for-the-e2e-test"


def event(tx: str, order: str, minutes_ago: int) -> dict:
    paid_at = (NOW - timedelta(minutes=minutes_ago)).isoformat()
    return {"type": "charge.succeeded", "transaction_id": tx, "order_id": order, "payer_id": "openid-ann",
            "amount": "59.00", "currency": "CNY", "created_at": paid_at}


async def post_events(url: str, *events: dict) -> dict:
    body = json.dumps({"events": list(events)}).encode()
    stamp = int(NOW.timestamp())
    headers = {TIMESTAMP_HEADER: str(stamp), SIGNATURE_HEADER: sign(SECRET, stamp, body),
               "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def test_a_double_tap_reaches_the_payer_live_and_yes_refunds_the_later_charge(harness, payer):
    await harness.stop()
    harness.overrides.update(merchant_webhook_secret=SECRET, http_port=0, auto_refund_limit="100")
    services = (await harness.start()).services
    endpoints = await serve_merchant_endpoints(services)
    try:
        async with services.db.transaction() as session:
            await link_payers(session, links=[("openid-ann", payer.id)], source="deep_link", now=NOW)
        [welcome, *_] = await payer.say("/start")
        port = endpoints.addresses[0][1]
        answer = await post_events(f"http://127.0.0.1:{port}/api/payments",
                                   event("wx-1", "A-100", 4), event("wx-2", "A-101", 3))
        assert answer["stored"] == 2

        [alert] = await payer.client.wait_for_bot_messages(
            payer.id, after_message_id=welcome["message_id"], count=1, timeout=15)
        assert "paid CN¥59.00 twice" in alert["text"]
        assert "(order A-100)" in alert["text"] and "(order A-101)" in alert["text"]
        [filed] = await payer.press(alert, "Yes, refund the extra one")
        async with services.db.transaction() as session:
            [ticket] = await all_tickets(session)
        assert ticket.reference in filed["text"] and ticket.order_id == "A-101"
        started = await next_notice(payer, filed)
        assert "a refund of CN¥59.00 for the duplicate charge is on its way" in started["text"]
        ticket, refund, _ = await the_ticket(harness)
        assert (ticket.status, refund.transaction_id) == ("refund_pending", "wx-2")
    finally:
        await endpoints.cleanup()
