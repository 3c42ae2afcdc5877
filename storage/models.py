"""The tables: everything the bot remembers."""

from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import BigInteger, Column, Index, UniqueConstraint, text
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import configure_mappers
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


def _time(*, index: bool = False, nullable: bool = False) -> Any:
    return Field(sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class _Numbered(Protocol):
    @property
    def id(self) -> int | None: ...


def id_of(row: _Numbered) -> int:
    """The id of a row the database has written (its type says `int | None` because new rows have none)."""
    assert row.id is not None, f"{type(row).__name__} has no id until it is written"
    return row.id


class PayerCheck(StrEnum):
    """Whether the reporter is the payer the merchant's records name for the order."""

    LINKED = "linked"
    NOT_LINKED = "not_linked"
    UNNAMED = "unnamed"  # the records name no payer (or there is no order number)


class TicketStatus(StrEnum):
    """Where a refund ticket stands; the vocabulary operators see."""

    VERIFIED = "verified"
    NEEDS_REVIEW = "needs_review"
    NEEDS_INFO = "needs_info"
    APPROVED = "approved"
    REFUND_PENDING = "refund_pending"
    REFUNDED = "refunded"
    REFUND_FAILED = "refund_failed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


CLOSED_STATUSES = frozenset({TicketStatus.REFUNDED, TicketStatus.REJECTED, TicketStatus.CANCELLED})


class TransactionStatus(StrEnum):
    """A charge's state in the merchant's records."""

    SUCCEEDED = "succeeded"
    PENDING = "pending"
    FAILED = "failed"
    REFUNDED = "refunded"


class User(SQLModel, table=True):
    """A Telegram user who talked to the bot."""

    __tablename__ = "users"

    id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    first_name: str = Field(default="", max_length=256)
    username: str | None = Field(default=None, max_length=64)
    locale: str = Field(max_length=8)
    locale_chosen: bool = False
    # Set when the user blocked the bot (403 or my_chat_member "kicked"); cleared when they return.
    unreachable: bool = False
    # Payment-safety tips from the merchant: None until the payer answers (and then they get none).
    tips: bool | None = None
    tips_asked: bool = False
    # The key of the /forget confirmation last offered; its buttons act only while it is this one.
    forget_key: str | None = Field(default=None, max_length=16)
    created_at: datetime = _time()


class Conversation(SQLModel, table=True):
    """A payer's report in progress: the step and the fields collected so far."""

    __tablename__ = "conversations"

    user_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    step: str | None = Field(default=None, max_length=16)
    report_key: str | None = Field(default=None, max_length=16)
    order_id: str | None = Field(default=None, max_length=64)
    order_skipped: bool = False
    amount_minor: int | None = Field(default=None, sa_column=Column(BigInteger))
    currency: str | None = Field(default=None, max_length=3)
    paid_at: datetime | None = _time(nullable=True)
    paid_on_day_only: bool = False
    evidence_sha256: str | None = Field(default=None, max_length=64)
    evidence_media_group: str | None = Field(default=None, max_length=64)
    back_to_review: bool = False
    updated_at: datetime = _time()


class ProcessedUpdate(SQLModel, table=True):
    """A Telegram update already handled; redeliveries are dropped."""

    __tablename__ = "processed_updates"

    update_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    processed_at: datetime = _time(index=True)


class TransactionBase(SQLModel):
    """A charge as the merchant recorded it."""

    transaction_id: str = Field(primary_key=True, max_length=64)
    order_id: str = Field(max_length=64)
    payer_id: str = Field(default="", max_length=64)
    amount_minor: int = Field(sa_column=Column(BigInteger, nullable=False))
    currency: str = Field(max_length=3)
    status: str = Field(max_length=16)
    created_at: datetime = _time()
    method: str | None = Field(default=None, max_length=16)


class Transaction(TransactionBase, table=True):
    """A charge imported from the merchant's records."""

    __tablename__ = "transactions"
    __table_args__ = (
        Index("ix_transactions_order_id", "order_id"),
        Index("ix_transactions_payer_time", "payer_id", "created_at"),
    )


class SuspicionStatus(StrEnum):
    """What became of a suspected duplicate the monitor found."""

    ALERTED = "alerted"  # the linked payer was asked whether both charges were intended
    UNLINKED = "unlinked"  # no Telegram user is linked to the payer: listed for the merchant
    HISTORIC = "historic"  # older than a day when found (an import of history): listed, nobody alerted
    CONFIRMED = "confirmed"  # the payer said "refund the extra one": a ticket was filed
    DECLINED = "declined"  # the payer said both were intended


OPEN_SUSPICIONS = frozenset({SuspicionStatus.ALERTED, SuspicionStatus.UNLINKED, SuspicionStatus.HISTORIC})


class SuspectedDuplicate(SQLModel, table=True):
    """Two successful charges of one payer and amount within the duplicate window; the later is suspect."""

    __tablename__ = "suspected_duplicates"
    __table_args__ = (UniqueConstraint("transaction_id", name="uq_suspected_duplicates_transaction"),)

    id: int | None = Field(default=None, primary_key=True)
    payer_id: str = Field(max_length=64, index=True)
    original_transaction_id: str = Field(max_length=64)
    transaction_id: str = Field(max_length=64)
    amount_minor: int = Field(sa_column=Column(BigInteger, nullable=False))
    currency: str = Field(max_length=3)
    first_paid_at: datetime = _time()
    paid_at: datetime = _time(index=True)
    status: str = Field(max_length=16)
    telegram_user_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    ticket_id: int | None = None
    detected_at: datetime = _time()
    answered_at: datetime | None = _time(nullable=True)


class PayerLink(SQLModel, table=True):
    """The merchant says this Telegram user is the payer `payer_id` (from its records, or a signed link)."""

    __tablename__ = "payer_links"

    payer_id: str = Field(primary_key=True, max_length=64)
    telegram_user_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    source: str = Field(max_length=16)
    created_at: datetime = _time()


class Evidence(SQLModel, table=True):
    """A screenshot kept by content address; the bytes live under the data directory."""

    __tablename__ = "evidence"

    sha256: str = Field(primary_key=True, max_length=64)
    mime_type: str = Field(max_length=32)
    size: int
    # The payer who first sent these bytes: their storage quota and the retention of abandoned reports.
    uploaded_by: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True, index=True))
    created_at: datetime = _time()


class TicketBase(SQLModel):
    """What a ticket says about a duplicate charge."""

    reference: str = Field(max_length=16)
    user_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    order_id: str | None = Field(default=None, max_length=64)
    amount_minor: int = Field(sa_column=Column(BigInteger, nullable=False))
    currency: str = Field(max_length=3)
    status: str = Field(max_length=16)


class Ticket(TicketBase, table=True):
    """A refund ticket: one reported duplicate charge and its fate."""

    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("reference", name="uq_tickets_reference"),
        UniqueConstraint("report_key", name="uq_tickets_report_key"),
        UniqueConstraint("open_order_key", name="uq_tickets_open_order_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    locale: str = Field(max_length=8)
    paid_at: datetime = _time()
    paid_on_day_only: bool = False
    evidence_sha256: str | None = Field(default=None, max_length=64)
    report_key: str = Field(max_length=16)
    # "user:order" while the ticket is open, NULL once closed: one open ticket per user and order.
    open_order_key: str | None = Field(default=None, max_length=96)
    next_update_at: datetime | None = _time(nullable=True, index=True)
    updates_sent: int = 0
    expected_landing_at: datetime | None = _time(nullable=True)
    escalated_at: datetime | None = _time(nullable=True)
    receipt: str | None = Field(default=None, max_length=16)
    rating: int | None = None
    payer_check: str = Field(default=PayerCheck.UNNAMED, max_length=16)
    created_at: datetime = _time()
    updated_at: datetime = _time()


class TicketPublic(TicketBase):
    """A ticket as `refund-bot tickets --json` prints it."""

    amount: str
    paid_at: datetime
    created_at: datetime


class TicketTransaction(SQLModel, table=True):
    """A charge matched to a ticket, and the part it plays (original, duplicate, candidate)."""

    __tablename__ = "ticket_transactions"

    ticket_id: int = Field(foreign_key="tickets.id", primary_key=True)
    transaction_id: str = Field(primary_key=True, max_length=64)
    role: str = Field(max_length=16)


class TicketAudit(SQLModel, table=True):
    """One transition of a ticket: who, when, from, to, why."""

    __tablename__ = "ticket_audit"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id", index=True)
    actor: str = Field(max_length=64)
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str = Field(max_length=16)
    note: str = Field(default="", max_length=1024)
    at: datetime = _time()


class RefundStatus(StrEnum):
    """A refund at the payment provider."""

    # Recorded and (about to be) sent; the provider has not answered yet, so the outcome is unknown.
    REQUESTED = "requested"
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


NOT_FAILED = text("status <> 'failed'")


def _reference_of_the_row(context: DefaultExecutionContext) -> str:
    reference: str = context.get_current_parameters()["reference"]
    return reference


class Refund(SQLModel, table=True):
    """One attempt at refunding a ticket's duplicate charge, keyed for the provider by `idempotency_key`.

    A charge and a ticket each have at most one refund that is not failed: the database says so.
    """

    __tablename__ = "refunds"
    __table_args__ = (
        UniqueConstraint("idempotency_key", name="uq_refunds_idempotency_key"),
        UniqueConstraint("ticket_id", "attempt", name="uq_refunds_ticket_attempt"),
        Index("uq_refunds_live_charge", "transaction_id", unique=True,
              sqlite_where=NOT_FAILED, postgresql_where=NOT_FAILED),
        Index("uq_refunds_live_ticket", "ticket_id", unique=True,
              sqlite_where=NOT_FAILED, postgresql_where=NOT_FAILED),
    )

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id", index=True)
    reference: str = Field(max_length=16)
    attempt: int = 1
    # Fixed when the refund is recorded, before the provider is called; every retry sends the same key.
    # Left out, it is the ticket reference (the first attempt's key).
    idempotency_key: str = Field(max_length=32, sa_column_kwargs={"default": _reference_of_the_row})
    # While `requested`: when the sweep asks the provider again; how often it was asked.
    next_attempt_at: datetime | None = _time(nullable=True, index=True)
    requests_sent: int = 0
    transaction_id: str = Field(max_length=64)
    amount_minor: int = Field(sa_column=Column(BigInteger, nullable=False))
    currency: str = Field(max_length=3)
    provider: str = Field(max_length=16)
    status: str = Field(max_length=16)
    failure_reason: str | None = Field(default=None, max_length=256)
    bank_reference: str | None = Field(default=None, max_length=128)
    settle_at: datetime | None = _time(nullable=True, index=True)
    landed_at: datetime | None = _time(nullable=True)
    created_at: datetime = _time()
    updated_at: datetime = _time()


class OutboxStatus(StrEnum):
    """Where a proactive message stands."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    DROPPED = "dropped"


class OutboxMessage(SQLModel, table=True):
    """A proactive message, written in the same transaction as the change that causes it."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("dedupe_key", name="uq_outbox_dedupe_key"),
        Index("ix_outbox_due", "status", "priority", "not_before"),
    )

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(max_length=128)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    priority: int = 0
    text: str = Field(max_length=4096)
    buttons: str | None = Field(default=None, max_length=4096)
    status: str = Field(default=OutboxStatus.PENDING, max_length=16)
    attempts: int = 0
    not_before: datetime = _time()
    lease_until: datetime | None = _time(nullable=True)
    last_error: str | None = Field(default=None, max_length=512)
    created_at: datetime = _time()
    sent_at: datetime | None = _time(nullable=True)
    # "send" a text; "card" / "card_update" render the support card of `ticket_id` when sent.
    action: str = Field(default="send", max_length=16)
    ticket_id: int | None = None
    thread_id: int | None = None
    parse_mode: str | None = Field(default=None, max_length=16)
    photo_sha256: str | None = Field(default=None, max_length=64)
    # A broadcast's message to one recipient (BULK priority); its counts come from these rows.
    broadcast_id: int | None = Field(default=None, index=True)


class SupportCard(SQLModel, table=True):
    """A ticket's card in the support group: where it is, who has it, how its SLA stands."""

    __tablename__ = "support_cards"

    ticket_id: int = Field(foreign_key="tickets.id", primary_key=True)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    thread_id: int | None = None
    message_id: int | None = None
    with_photo: bool = False
    assigned_to: int | None = Field(default=None, sa_column=Column(BigInteger))
    assigned_name: str | None = Field(default=None, max_length=256)
    last_actor_name: str | None = Field(default=None, max_length=256)
    # The status the card shows; a card whose ticket moved on is edited by the sync job.
    shown_status: str | None = Field(default=None, max_length=16)
    touched_at: datetime = _time(index=True)
    sla_pings: int = 0
    created_at: datetime = _time()


class AgentPrompt(SQLModel, table=True):
    """An agent's next message in a ticket's thread is a rejection reason or a question for the payer."""

    __tablename__ = "agent_prompts"

    agent_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    ticket_id: int = Field(foreign_key="tickets.id")
    action: str = Field(max_length=16)
    # The text the agent wrote, shown back for confirmation before it reaches the payer.
    draft: str | None = Field(default=None, max_length=1024)
    created_at: datetime = _time()



class BroadcastStatus(StrEnum):
    """Where a merchant's broadcast stands."""

    SCHEDULED = "scheduled"  # confirmed, waiting for its time
    RUNNING = "running"  # its outbox rows are written; the worker is sending them
    DONE = "done"
    CANCELLED = "cancelled"


class Broadcast(SQLModel, table=True):
    """A payment-safety tip sent by a merchant to the subscribed payers, once confirmed."""

    __tablename__ = "broadcasts"

    id: int | None = Field(default=None, primary_key=True)
    status: str = Field(max_length=16, index=True)
    source: str = Field(max_length=16)  # chat, cli, weekly
    tip_number: int | None = None  # a tip of the built-in library, else the texts below
    text_en: str | None = Field(default=None, max_length=4096)
    text_zh: str | None = Field(default=None, max_length=4096)
    audience: str = Field(default="all", max_length=8)  # all, en, zh
    paid: bool = False  # allow_paid_broadcast: a higher rate, paid in Telegram Stars
    created_by: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    scheduled_at: datetime = _time(index=True)
    recipients: int = 0
    progress_chat_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    progress_message_id: int | None = None
    created_at: datetime = _time()
    started_at: datetime | None = _time(nullable=True)
    finished_at: datetime | None = _time(nullable=True)


class BroadcastDraft(SQLModel, table=True):
    """A merchant's broadcast being composed in their private chat: the step and the choices so far."""

    __tablename__ = "broadcast_drafts"

    merchant_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    step: str = Field(max_length=16)
    tip_number: int | None = None
    text_en: str | None = Field(default=None, max_length=4096)
    text_zh: str | None = Field(default=None, max_length=4096)
    audience: str | None = Field(default=None, max_length=8)
    scheduled_at: datetime | None = _time(nullable=True)
    key: str = Field(max_length=16)  # ties the draft's buttons to this draft
    updated_at: datetime = _time()

# Rows built with `model_construct` (the Core fast paths) need configured mappers before any ORM query ran.
configure_mappers()
