"""Everything one handled event can see and change."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.events import Button, Event, Outcome, Reply
from handlers.evidence.bills import ReceivedBill
from handlers.evidence.images import ReceivedImage
from handlers.ports import CountChartDrawer, EvidenceStore
from handlers.texts import Texts
from storage.models import Conversation, User

if TYPE_CHECKING:
    from handlers.refunds.refunding import RefundCall, RefundPolicy


@dataclass(frozen=True)
class IntakeRules:
    """The settings the report conversation follows."""

    default_currency: str = "CNY"
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    refund_window_days: int = 180
    max_open_tickets: int = 3
    max_reports_per_day: int = 5
    # Stored screenshots of one payer not on any of their tickets, plus a new one, may not pass this.
    evidence_quota_bytes: int = 50 * 1024 * 1024
    # Telegram users who see the merchant's commands (/duplicates) in their private chat.
    merchant_admin_ids: frozenset[int] = frozenset()
    # Names the merchant appears under in payers' wallet bills; none: a bill cannot be matched to it.
    merchant_names: tuple[str, ...] = ()
    # Two payments of the same amount this close together are a duplicate.
    duplicate_window: timedelta = timedelta(minutes=10)
    # The secret deep links (/start tokens) are signed with; None: deep links are off. Kept out of repr.
    link_secret: bytes | None = field(default=None, repr=False)


@dataclass
class Turn:
    """One event in flight: who sent it, where their report stands, and what to answer."""

    event: Event
    session: AsyncSession
    user: User
    conversation: Conversation
    now: datetime
    texts: Texts
    rules: IntakeRules
    evidence: EvidenceStore
    policy: "RefundPolicy | None" = None
    outcome: Outcome = field(default_factory=Outcome)
    # Evidence rows this turn wrote: the bytes stored before the transaction and not kept are removed after.
    evidence_recorded: list[str] = field(default_factory=list)
    # Evidence whose rows this turn deleted (/forget), with when: removed from the store after the commit
    # unless saved again since then.
    files_to_delete: list[tuple[str, datetime]] = field(default_factory=list)
    # Refund requests recorded in this turn: sent to the provider after the transaction commits.
    refund_calls: list["RefundCall"] = field(default_factory=list)
    # The event's image, downloaded and checked before the transaction opened (nothing is downloaded inside
    # one); None when the conversation was not waiting for an image.
    received_image: ReceivedImage | None = None
    # The event's wallet bill (CSV), fetched and read the same way at the screenshot step only.
    received_bill: ReceivedBill | None = None
    # Draws the merchant's dashboard chart; None: the dashboard answers with its figures only.
    charts: CountChartDrawer | None = None

    @property
    def locale(self) -> str:
        """The language to answer in."""
        return self.user.locale

    def t(self, key: str, **params: object) -> str:
        """A sentence in the user's language."""
        return self.texts.get(self.locale, key, **params)

    def button(self, key: str, data: str, **params: object) -> Button:
        """A button labelled in the user's language."""
        return Button(self.t(key, **params), data)

    def say(self, text: str, buttons: tuple[tuple[Button, ...], ...] = ()) -> None:
        """Queue a message to the user."""
        self.outcome.outputs.append(Reply(text, buttons))
