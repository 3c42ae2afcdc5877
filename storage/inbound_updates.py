"""Telegram updates as they arrived by webhook: recorded first, handled after, replayed after a crash."""

import json
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, MetaData, Table, Text, delete, update
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.types import UTCDateTime
from storage.upsert import insert_ignoring_conflicts

# A Core table of its own: nothing but this module reads it (migration 0008 creates it).
inbound_updates = Table(
    "inbound_updates",
    MetaData(),
    Column("update_id", BigInteger, primary_key=True, autoincrement=False),
    Column("payload", Text, nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("handled_at", UTCDateTime(), nullable=True, index=True),
)


async def record_update(session: AsyncSession, *, update: dict[str, Any], now: datetime) -> bool:
    """Keep an update's JSON by its update_id; False if that update_id was recorded already."""
    row = {"update_id": int(update["update_id"]), "payload": json.dumps(update, ensure_ascii=False),
           "received_at": now, "handled_at": None}
    inserted = await insert_ignoring_conflicts(session, table=inbound_updates, rows=[row], keys=["update_id"])
    return inserted == 1


async def mark_handled(session: AsyncSession, *, update_id: int, now: datetime) -> None:
    """Note that an update has been handed to the bot and came back."""
    await session.exec(
        update(inbound_updates).where(inbound_updates.c.update_id == update_id).values(handled_at=now)
    )


async def unhandled_updates(
    session: AsyncSession, *, received_before: datetime, limit: int
) -> list[dict[str, Any]]:
    """Updates recorded before `received_before` and never handled, oldest id first."""
    rows = await session.exec(
        select(inbound_updates.c.payload)
        .where(inbound_updates.c.handled_at.is_(None), inbound_updates.c.received_at < received_before)
        .order_by(inbound_updates.c.update_id)
        .limit(limit)
    )
    return [json.loads(payload) for payload in rows.all()]


async def forget_handled_before(session: AsyncSession, *, before: datetime) -> int:
    """Delete the updates handled before `before`; return how many."""
    result = await session.exec(
        delete(inbound_updates).where(inbound_updates.c.handled_at < before)
    )
    return int(result.rowcount)
