"""/start with a signed token: the merchant says this Telegram user is one of its payers."""

import logging

from handlers.payer.deep_link import BadLink, BadLinkReason, read_token
from handlers.payer.turn import Turn
from storage.payer_links import link_payers, lock_payer_links, users_linked_to

log = logging.getLogger(__name__)
DEEP_LINK_SOURCE = "deep_link"
REFUSALS = {
    BadLinkReason.EXPIRED: "deep_link.expired",
    BadLinkReason.TAMPERED: "deep_link.invalid",
    BadLinkReason.MALFORMED: "deep_link.invalid",
}


async def link_from_start(turn: Turn, token: str) -> None:
    """Link the user to the token's payer, unless the token is bad or another user took it through a link."""
    user = turn.user
    if turn.rules.link_secret is None:
        log.info("user %s opened a deep link, but LINK_SECRET is not set: ignored", user.id)
        return
    try:
        payer_id = read_token(turn.rules.link_secret, token, turn.now)
    except BadLink as bad:
        log.info("user %s opened a %s deep link", user.id, bad.reason)
        turn.say(turn.t(REFUSALS[bad.reason]))
        return
    await lock_payer_links(turn.session, payer_id=payer_id)
    if user.id in await users_linked_to(turn.session, payer_id=payer_id):
        turn.say(turn.t("deep_link.already_linked"))
        return
    if await users_linked_to(turn.session, payer_id=payer_id, source=DEEP_LINK_SOURCE):
        log.warning("user %s opened a deep link another Telegram user already used", user.id)
        turn.say(turn.t("deep_link.used_by_another"))
        return
    await link_payers(turn.session, links=[(payer_id, user.id)], source=DEEP_LINK_SOURCE, now=turn.now)
    turn.say(turn.t("deep_link.linked"))
