"""Callback data of every inline button: one small type per family, packed and parsed only here.

Callback data comes back from the client and can be forged. `parse` accepts exactly what `pack` makes and
answers None for anything else (wrong prefix, wrong number of fields, unknown action, bad characters, empty
fields); the caller then shows the stale-button toast. Telegram carries at most 64 bytes: `pack` refuses more.
"""

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar, Self, TypeVar

from locales import LANGUAGES

MAX_BYTES = 64  # Telegram's limit on callback_data, in UTF-8 bytes
REFERENCE = re.compile(r"RF-[A-Z0-9]{8}")  # a ticket reference (see handlers/payer/filing.py)
REPORT_KEY = re.compile(r"[0-9a-f]{8}")  # secrets.token_hex(4), see handlers/payer/intake.py
REPORT_ARGUMENT = re.compile(r"[a-z_]{1,16}")  # a day or a step; the report conversation judges which
DRAFT_TAG = re.compile(r"[0-9a-f]{12}")  # see handlers/support/prompts.py draft_tag
CHARGE_TAG = re.compile(r"[0-9a-f]{10}")  # see handlers/support/candidates.py charge_tag
STARS = range(1, 6)

E = TypeVar("E", bound=StrEnum)


def _pack(*fields: str) -> str:
    """Join the fields with ":"; refuse what would not parse back or would not fit in a button."""
    if not all(fields) or any(":" in field for field in fields):
        raise ValueError(f"button fields must be non-empty and free of ':': {fields!r}")
    data = ":".join(fields)
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"button data is {len(data.encode())} bytes, over Telegram's {MAX_BYTES}: {data!r}")
    return data


def _fields(data: str, prefix: str, counts: tuple[int, ...]) -> list[str] | None:
    """The fields after `prefix`: short plain ASCII, an allowed number of them, none empty; else None."""
    if len(data) > MAX_BYTES or not data.isascii():  # bounded before anything else looks at it
        return None
    head, *fields = data.split(":")
    if head != prefix or len(fields) not in counts or not all(fields):
        return None
    return fields


def _member(kind: type[E], value: str) -> E | None:
    """The enum member with this value, or None."""
    try:
        return kind(value)
    except ValueError:
        return None


# --- the report in progress (payer, private chat) ----------------------------------------------


class ReportAction(StrEnum):
    """What a report button does; `day` and `edit` carry an argument."""

    NO_ORDER = "no_order"
    DAY = "day"
    SUBMIT = "submit"
    EDIT = "edit"
    CANCEL = "cancel"


ARGUED = frozenset({ReportAction.DAY, ReportAction.EDIT})


@dataclass(frozen=True)
class ReportButton:
    """`in:<report key>:<action>[:<argument>]`: tied to one report, so an old report's buttons cannot act."""

    PREFIX: ClassVar[str] = "in"
    report_key: str
    action: ReportAction
    argument: str = ""

    def pack(self) -> str:
        """The callback data."""
        if bool(self.argument) != (self.action in ARGUED):
            raise ValueError(f"a report button's argument goes with day and edit only: {self!r}")
        return _pack(self.PREFIX, self.report_key, self.action, *([self.argument] if self.argument else []))

    @classmethod
    def parse(cls, data: str) -> Self | None:
        """The button, or None for anything malformed."""
        fields = _fields(data, cls.PREFIX, (2, 3))
        if fields is None:
            return None
        key, name, *rest = fields
        action, argument = _member(ReportAction, name), rest[0] if rest else ""
        if action is None or not REPORT_KEY.fullmatch(key) or bool(argument) != (action in ARGUED):
            return None
        if argument and not REPORT_ARGUMENT.fullmatch(argument):
            return None
        return cls(key, action, argument)


# --- a payer's own ticket (private chat) ------------------------------------------------------


class TicketAction(StrEnum):
    """What a payer's ticket button does; `rate` carries 1–5 stars."""

    RECEIVED = "received"
    NOT_YET = "notyet"
    RATE = "rate"
    CANCEL = "cancel"


@dataclass(frozen=True)
class TicketButton:
    """`tk:<reference>:<action>[:<stars>]`: a payer's button on one of their tickets."""

    PREFIX: ClassVar[str] = "tk"
    reference: str
    action: TicketAction
    stars: int | None = None

    def pack(self) -> str:
        """The callback data."""
        if (self.stars is not None) != (self.action is TicketAction.RATE) or self.stars not in (None, *STARS):
            raise ValueError(f"a ticket button's 1–5 stars go with rate only: {self!r}")
        extra = [str(self.stars)] if self.stars is not None else []
        return _pack(self.PREFIX, self.reference, self.action, *extra)

    @classmethod
    def parse(cls, data: str) -> Self | None:
        """The button, or None for anything malformed (stars only on `rate`, and only 1–5)."""
        fields = _fields(data, cls.PREFIX, (2, 3))
        if fields is None:
            return None
        reference, name, *rest = fields
        action = _member(TicketAction, name)
        rated = action is TicketAction.RATE
        if action is None or not REFERENCE.fullmatch(reference) or bool(rest) != rated:
            return None
        if not rest:
            return cls(reference, action)
        if rest[0] not in {str(n) for n in STARS}:
            return None
        return cls(reference, action, int(rest[0]))


# --- the payer's menu, help and language (private chat) ---------------------------------------


class MenuCommand(StrEnum):
    """The commands the menu offers as buttons."""

    REPORT = "report"
    STATUS = "status"
    HELP = "help"
    LANGUAGE = "language"


class HelpTopic(StrEnum):
    """The common questions /help answers."""

    WHY = "why"
    AVOID = "avoid"
    NOW = "now"
    MERCHANTS = "merchants"
    RIGHTS = "rights"


@dataclass(frozen=True)
class MenuButton:
    """`menu:<command>`: the same as typing the command."""

    PREFIX: ClassVar[str] = "menu"
    command: MenuCommand

    def pack(self) -> str:
        """The callback data."""
        return _pack(self.PREFIX, self.command)

    @classmethod
    def parse(cls, data: str) -> Self | None:
        """The button, or None for anything malformed."""
        fields = _fields(data, cls.PREFIX, (1,))
        command = _member(MenuCommand, fields[0]) if fields else None
        return cls(command) if command is not None else None


@dataclass(frozen=True)
class HelpButton:
    """`help:<topic>`: one common question's answer."""

    PREFIX: ClassVar[str] = "help"
    topic: HelpTopic

    def pack(self) -> str:
        """The callback data."""
        return _pack(self.PREFIX, self.topic)

    @classmethod
    def parse(cls, data: str) -> Self | None:
        """The button, or None for anything malformed."""
        fields = _fields(data, cls.PREFIX, (1,))
        topic = _member(HelpTopic, fields[0]) if fields else None
        return cls(topic) if topic is not None else None


@dataclass(frozen=True)
class LanguageButton:
    """`lang:<code>`: switch to one of the catalogs' languages."""

    PREFIX: ClassVar[str] = "lang"
    code: str

    def pack(self) -> str:
        """The callback data."""
        return _pack(self.PREFIX, self.code)

    @classmethod
    def parse(cls, data: str) -> Self | None:
        """The button, or None for anything malformed or a language the bot does not speak."""
        fields = _fields(data, cls.PREFIX, (1,))
        return cls(fields[0]) if fields and fields[0] in LANGUAGES else None


# --- the support desk (support group) ---------------------------------------------------------


class DeskAction(StrEnum):
    """What a button on a support card (or on the refund-exists answer) does."""

    APPROVE = "approve"
    RETRY = "retry"
    DETAILS = "details"
    REJECT = "reject"
    ASK = "ask"
    ASSIGN = "assign"
    OUTSIDE = "outside"  # refunded outside the bot: the agent writes the amount and a note


class DraftVerb(StrEnum):
    """What a button under a previewed agent message does."""

    SEND = "send"
    EDIT = "edit"
    CANCEL = "cancel"


@dataclass(frozen=True)
class DeskButton:
    """`sd:<reference>:<action>`: an agent's button on one ticket."""

    PREFIX: ClassVar[str] = "sd"
    reference: str
    action: DeskAction

    def pack(self) -> str:
        """The callback data."""
        return _pack(self.PREFIX, self.reference, self.action)

    @classmethod
    def parse(cls, data: str) -> Self | None:
        """The button, or None for anything malformed (a draft button included)."""
        fields = _fields(data, cls.PREFIX, (2,))
        if fields is None:
            return None
        reference, name = fields
        action = _member(DeskAction, name)
        return cls(reference, action) if action is not None and REFERENCE.fullmatch(reference) else None


@dataclass(frozen=True)
class DraftButton:
    """`sd:<reference>:<send|edit|cancel>:<tag>`: a preview's button, tied to one draft of one prompt."""

    PREFIX: ClassVar[str] = "sd"
    reference: str
    verb: DraftVerb
    tag: str

    def pack(self) -> str:
        """The callback data."""
        return _pack(self.PREFIX, self.reference, self.verb, self.tag)

    @classmethod
    def parse(cls, data: str) -> Self | None:
        """The button, or None for anything that is not exactly one (card buttons included)."""
        fields = _fields(data, cls.PREFIX, (3,))
        if fields is None:
            return None
        reference, name, tag = fields
        verb = _member(DraftVerb, name)
        if verb is None or not REFERENCE.fullmatch(reference) or not DRAFT_TAG.fullmatch(tag):
            return None
        return cls(reference, verb, tag)


@dataclass(frozen=True)
class CandidateButton:
    """`pick:<reference>:<charge tag>`: refund this one of a ticket's current candidate charges."""

    PREFIX: ClassVar[str] = "pick"
    reference: str
    charge_tag: str

    def pack(self) -> str:
        """The callback data."""
        return _pack(self.PREFIX, self.reference, self.charge_tag)

    @classmethod
    def parse(cls, data: str) -> Self | None:
        """The button, or None for anything malformed."""
        fields = _fields(data, cls.PREFIX, (2,))
        if fields is None:
            return None
        reference, tag = fields
        if not REFERENCE.fullmatch(reference) or not CHARGE_TAG.fullmatch(tag):
            return None
        return cls(reference, tag)


# --- the duplicate monitor's question to a payer (private chat) -----------------------------------


class RepeatAnswer(StrEnum):
    """A payer's answer to "were you charged twice?"."""

    REFUND = "refund"
    INTENDED = "intended"


SUSPICION_ID = re.compile(r"[1-9][0-9]{0,17}")


@dataclass(frozen=True)
class RepeatButton:
    """`dp:<suspicion id>:<refund|intended>`: the payer's answer to one suspected duplicate."""

    PREFIX: ClassVar[str] = "dp"
    suspicion_id: int
    answer: RepeatAnswer

    def pack(self) -> str:
        """The callback data."""
        return _pack(self.PREFIX, str(self.suspicion_id), self.answer)

    @classmethod
    def parse(cls, data: str) -> Self | None:
        """The button, or None for anything malformed."""
        fields = _fields(data, cls.PREFIX, (2,))
        if fields is None:
            return None
        number, name = fields
        answer = _member(RepeatAnswer, name)
        if answer is None or not SUSPICION_ID.fullmatch(number):
            return None
        return cls(int(number), answer)


# --- payment-safety tips (payer, private chat) ---------------------------------------------------


class TipsChoice(StrEnum):
    """A payer's answer about the merchant's tips."""

    ON = "on"
    OFF = "off"


@dataclass(frozen=True)
class TipsButton:
    """`tips:<on|off>`: subscribe to or stop the merchant's payment-safety tips."""

    PREFIX: ClassVar[str] = "tips"
    choice: TipsChoice

    def pack(self) -> str:
        """The callback data."""
        return _pack(self.PREFIX, self.choice)

    @classmethod
    def parse(cls, data: str) -> Self | None:
        """The button, or None for anything malformed."""
        fields = _fields(data, cls.PREFIX, (1,))
        if fields is None:
            return None
        choice = _member(TipsChoice, fields[0])
        return cls(choice) if choice is not None else None


# --- forgetting a payer (payer, private chat) -----------------------------------------------------

FORGET_KEY = re.compile(r"[0-9a-f]{8}")  # secrets.token_hex(4), see handlers/payer/forgetting.py


class ForgetChoice(StrEnum):
    """The payer's answer to "delete my data?"."""

    CONFIRM = "confirm"
    KEEP = "keep"


@dataclass(frozen=True)
class ForgetButton:
    """`forget:<key>:<confirm|keep>`: tied to one /forget request, so an old confirmation cannot act."""

    PREFIX: ClassVar[str] = "forget"
    key: str
    choice: ForgetChoice

    def pack(self) -> str:
        """The callback data."""
        return _pack(self.PREFIX, self.key, self.choice)

    @classmethod
    def parse(cls, data: str) -> Self | None:
        """The button, or None for anything malformed."""
        fields = _fields(data, cls.PREFIX, (2,))
        if fields is None or not FORGET_KEY.fullmatch(fields[0]):
            return None
        choice = _member(ForgetChoice, fields[1])
        return cls(fields[0], choice) if choice is not None else None


# --- a merchant's broadcast (merchant admin, private chat) ------------------------------------------

BROADCAST_KEY = re.compile(r"[0-9a-f]{8}")  # secrets.token_hex(4), see handlers/merchant/compose.py
TIP_NUMBER = re.compile(r"[1-9][0-9]?")  # the library's range is checked where the tip is picked
BROADCAST_ID = re.compile(r"[1-9][0-9]{0,17}")
AUDIENCES = frozenset({"all", *LANGUAGES})  # everyone subscribed, or the subscribers of one language


class BroadcastAction(StrEnum):
    """What a button of the broadcast being composed does; `tip` and `audience` carry an argument."""

    TIP = "tip"
    OWN = "own"  # write my own text
    SKIP = "skip"  # no text in this language
    AUDIENCE = "aud"
    NOW = "now"
    CONFIRM = "ok"
    CANCEL = "cancel"


@dataclass(frozen=True)
class BroadcastButton:
    """`bc:<draft key>:<action>[:<argument>]`: tied to one draft, so an old draft's buttons cannot act."""

    PREFIX: ClassVar[str] = "bc"
    draft_key: str
    action: BroadcastAction
    argument: str = ""

    def pack(self) -> str:
        """The callback data."""
        if not self._argument_fits(self.action, self.argument):
            raise ValueError(f"a broadcast button's argument does not fit its action: {self!r}")
        return _pack(self.PREFIX, self.draft_key, self.action, *([self.argument] if self.argument else []))

    @classmethod
    def parse(cls, data: str) -> Self | None:
        """The button, or None for anything malformed."""
        fields = _fields(data, cls.PREFIX, (2, 3))
        if fields is None:
            return None
        key, name, *rest = fields
        action, argument = _member(BroadcastAction, name), rest[0] if rest else ""
        if action is None or not BROADCAST_KEY.fullmatch(key) or not cls._argument_fits(action, argument):
            return None
        return cls(key, action, argument)

    @staticmethod
    def _argument_fits(action: BroadcastAction, argument: str) -> bool:
        if action is BroadcastAction.TIP:
            return bool(TIP_NUMBER.fullmatch(argument))
        if action is BroadcastAction.AUDIENCE:
            return argument in AUDIENCES
        return argument == ""


@dataclass(frozen=True)
class BroadcastCancelButton:
    """`bcx:<broadcast id>`: cancel a scheduled or running broadcast from the /broadcasts list."""

    PREFIX: ClassVar[str] = "bcx"
    broadcast_id: int

    def pack(self) -> str:
        """The callback data."""
        return _pack(self.PREFIX, str(self.broadcast_id))

    @classmethod
    def parse(cls, data: str) -> Self | None:
        """The button, or None for anything malformed."""
        fields = _fields(data, cls.PREFIX, (1,))
        if fields is None or not BROADCAST_ID.fullmatch(fields[0]):
            return None
        return cls(int(fields[0]))
