"""Proactive messages to payers and to the support group, written to the outbox."""

import json
from dataclasses import dataclass
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.events import Button
from handlers.texts import Texts
from storage.models import Ticket, User
from storage.outbox import TRANSACTIONAL, enqueue

Rows = tuple[tuple[Button, ...], ...]


def buttons_json(rows: Rows) -> str | None:
    """Inline buttons as stored in the outbox."""
    if not rows:
        return None
    return json.dumps([[{"label": b.label, "data": b.data} for b in row] for row in rows], ensure_ascii=False)


def buttons_from_json(stored: str | None) -> Rows:
    """Inline buttons read back from the outbox."""
    if not stored:
        return ()
    return tuple(tuple(Button(b["label"], b["data"]) for b in row) for row in json.loads(stored))


@dataclass(frozen=True)
class Notifier:
    """Writes payer and support notices in the right language, once per dedupe key."""

    texts: Texts
    support_chat_id: int | None
    support_locale: str

    async def tell_payer(
        self,
        session: AsyncSession,
        ticket: Ticket,
        key: str,
        *,
        now: datetime,
        dedupe: str,
        buttons: Rows = (),
        **params: object,
    ) -> None:
        """A message to the ticket's payer (dropped at once if they blocked the bot)."""
        user = await session.get(User, ticket.user_id)
        _, text = await self.payer_text(session, ticket, key, **params)
        await enqueue(
            session,
            dedupe_key=f"ticket:{ticket.id}:{dedupe}",
            chat_id=ticket.chat_id,
            text=text,
            buttons=buttons_json(buttons),
            priority=TRANSACTIONAL,
            not_before=now,
            dropped_because="the user blocked the bot" if user and user.unreachable else None,
        )

    async def payer_text(
        self, session: AsyncSession, ticket: Ticket, key: str, **params: object
    ) -> tuple[str, str]:
        """The payer's language and exactly what `tell_payer` would send them."""
        user = await session.get(User, ticket.user_id)
        locale = user.locale if user else ticket.locale
        return locale, self.texts.get(locale, key, reference=ticket.reference, **params)

    async def tell_support(
        self,
        session: AsyncSession,
        ticket: Ticket,
        key: str,
        *,
        now: datetime,
        dedupe: str,
        photo_sha256: str | None = None,
        **params: object,
    ) -> None:
        """A notice in the ticket's thread of the support group, if one is configured."""
        if self.support_chat_id is None:
            return
        text = self.texts.get(self.support_locale, key, reference=ticket.reference, **params)
        await enqueue(
            session,
            dedupe_key=f"support:{ticket.id}:{dedupe}",
            chat_id=self.support_chat_id,
            text=text,
            priority=TRANSACTIONAL,
            not_before=now,
            ticket_id=ticket.id,
            photo_sha256=photo_sha256,
        )

    async def need_person(self, session: AsyncSession, ticket: Ticket, *, now: datetime, reason: str) -> None:
        """Post the ticket's card in the support group (or redraw it if it is already there)."""
        if self.support_chat_id is None:
            return
        await enqueue(
            session,
            dedupe_key=f"card:{ticket.id}:{reason}:{now.isoformat()}",
            chat_id=self.support_chat_id,
            text="",
            priority=TRANSACTIONAL,
            not_before=now,
            action="card",
            ticket_id=ticket.id,
        )
