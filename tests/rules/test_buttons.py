"""Button data: each family packs the strings the wire carries today, parses them back, and nothing else."""

import pytest

from handlers.buttons import (
    AUDIENCES,
    MAX_BYTES,
    STARS,
    BroadcastAction,
    BroadcastButton,
    BroadcastCancelButton,
    CandidateButton,
    DeskAction,
    DeskButton,
    DraftButton,
    DraftVerb,
    ForgetButton,
    ForgetChoice,
    HelpButton,
    HelpTopic,
    LanguageButton,
    MenuButton,
    MenuCommand,
    RepeatAnswer,
    RepeatButton,
    ReportAction,
    ReportButton,
    TicketAction,
    TicketButton,
    TipsButton,
    TipsChoice,
)
from handlers.payer.intake import Input, Step
from locales import LANGUAGES

FAMILIES = (ReportButton, TicketButton, MenuButton, HelpButton, LanguageButton, DeskButton, DraftButton,
            CandidateButton, RepeatButton, TipsButton, ForgetButton, BroadcastButton, BroadcastCancelButton)
KEY, REFERENCE, TAG = "a1b2c3d4", "RF-SECRET23", "0123456789ab"  # shaped as the bot makes them


def every_button() -> list:
    """Every button the bot can show, with realistic (full-length) keys, references and tags."""
    report = [ReportButton(KEY, action) for action in ReportAction if action not in (ReportAction.DAY,
                                                                                     ReportAction.EDIT)]
    report += [ReportButton(KEY, ReportAction.DAY, day) for day in ("today", "yesterday")]
    report += [ReportButton(KEY, ReportAction.EDIT, step.value) for step in Step if step is not Step.REVIEW]
    ticket = [TicketButton(REFERENCE, action) for action in TicketAction if action is not TicketAction.RATE]
    ticket += [TicketButton(REFERENCE, TicketAction.RATE, stars) for stars in STARS]
    return [
        *report,
        *ticket,
        *(MenuButton(command) for command in MenuCommand),
        *(HelpButton(topic) for topic in HelpTopic),
        *(LanguageButton(code) for code in LANGUAGES),
        *(DeskButton(REFERENCE, action) for action in DeskAction),
        *(DraftButton(REFERENCE, verb, TAG) for verb in DraftVerb),
        CandidateButton(REFERENCE, "0123456789"),
        *(RepeatButton(123456789012345678, answer) for answer in RepeatAnswer),
        *(TipsButton(choice) for choice in TipsChoice),
        *(ForgetButton(KEY, choice) for choice in ForgetChoice),
        *(BroadcastButton(KEY, action) for action in BroadcastAction
          if action not in (BroadcastAction.TIP, BroadcastAction.AUDIENCE)),
        *(BroadcastButton(KEY, BroadcastAction.TIP, str(n)) for n in (1, 8, 99)),
        *(BroadcastButton(KEY, BroadcastAction.AUDIENCE, audience) for audience in sorted(AUDIENCES)),
        BroadcastCancelButton(123456789012345678),
    ]


@pytest.mark.parametrize(
    ("button", "data"),
    [
        (ReportButton(KEY, ReportAction.SUBMIT), "in:a1b2c3d4:submit"),
        (ReportButton(KEY, ReportAction.NO_ORDER), "in:a1b2c3d4:no_order"),
        (ReportButton(KEY, ReportAction.DAY, "yesterday"), "in:a1b2c3d4:day:yesterday"),
        (ReportButton(KEY, ReportAction.EDIT, "paid_at"), "in:a1b2c3d4:edit:paid_at"),
        (ReportButton("-", ReportAction.CANCEL), "in:-:cancel"),  # a report with no key: never matches
        (TicketButton(REFERENCE, TicketAction.NOT_YET), "tk:RF-SECRET23:notyet"),
        (TicketButton(REFERENCE, TicketAction.RATE, 5), "tk:RF-SECRET23:rate:5"),
        (TicketButton(REFERENCE, TicketAction.CANCEL), "tk:RF-SECRET23:cancel"),
        (MenuButton(MenuCommand.LANGUAGE), "menu:language"),
        (HelpButton(HelpTopic.MERCHANTS), "help:merchants"),
        (LanguageButton("zh"), "lang:zh"),
        (DeskButton(REFERENCE, DeskAction.DETAILS), "sd:RF-SECRET23:details"),
        (DraftButton(REFERENCE, DraftVerb.CANCEL, TAG), "sd:RF-SECRET23:cancel:0123456789ab"),
    ],
)
def test_the_wire_format_is_unchanged(button, data):
    assert button.pack() == data


@pytest.mark.parametrize("button", every_button(), ids=lambda button: button.pack())
def test_every_button_round_trips_through_its_own_family_only(button):
    data = button.pack()
    assert type(button).parse(data) == button
    assert [family for family in FAMILIES if family.parse(data) is not None] == [type(button)]


def test_every_familys_longest_button_fits_in_telegrams_64_bytes():
    longest = {}
    for button in every_button():
        size = len(button.pack().encode())
        longest[type(button).__name__] = max(size, longest.get(type(button).__name__, 0))
    assert set(longest) == {family.__name__ for family in FAMILIES}
    assert max(longest.values()) <= MAX_BYTES, longest  # the draft button is the longest: 34 bytes


@pytest.mark.parametrize(
    "button",
    [
        LanguageButton("x" * 60),  # 65 bytes
        LanguageButton("中" * 20),  # 25 characters, 65 bytes: bytes are what count
        ReportButton("k" * 60, ReportAction.SUBMIT),
        DraftButton("RF-" + "A" * 41, DraftVerb.SEND, TAG),  # 65 bytes
    ],
)
def test_packing_more_than_64_bytes_is_refused(button):
    with pytest.raises(ValueError, match="over Telegram's 64"):
        button.pack()


def test_exactly_64_bytes_is_allowed():
    assert len(LanguageButton("x" * 59).pack().encode()) == MAX_BYTES


@pytest.mark.parametrize(
    "button",
    [
        ReportButton(KEY, ReportAction.DAY, "to:day"),
        ReportButton("", ReportAction.SUBMIT),
        ReportButton(KEY, ReportAction.EDIT),
        ReportButton(KEY, ReportAction.SUBMIT, "now"),
        TicketButton(REFERENCE, TicketAction.RATE),
        TicketButton(REFERENCE, TicketAction.RATE, 6),
        TicketButton(REFERENCE, TicketAction.CANCEL, 5),
        DraftButton(REFERENCE, DraftVerb.SEND, ""),
    ],
    ids=repr,
)
def test_what_would_not_parse_back_is_refused_when_packing(button):
    with pytest.raises(ValueError):
        button.pack()


def test_report_actions_are_inputs_of_the_report_conversation():
    assert {action.value for action in ReportAction} <= {item.value for item in Input}


MALFORMED = {
    "report": [
        "", "in", "in:", "in::", "in:::::", f"in:{KEY}", f"in:{KEY}:", f"in:{KEY}:submit:",
        f"in:{KEY}:submit:x", f"in:{KEY}:cancel:edit", f"in:{KEY}:day", f"in:{KEY}:edit:",
        f"in:{KEY}:day:to:day", f"in:{KEY}:text", f"in:{KEY}:image", f"in:{KEY}:other", f"in:{KEY}:SUBMIT",
        f"in:{KEY}:day:Today", f"in:{KEY}:edit:../x", f"in:{KEY}:edit:{'a' * 17}",
        "in:A1B2C3D4:submit", "in:a1b2c3d:submit", "in:a1b2c3d4e:submit",
        "in:-:submit", "in::submit", f"in:{KEY}\u200b:submit", "in:" + "k" * 100 + ":submit",
        f"IN:{KEY}:submit", f" in:{KEY}:submit", f"in:{KEY}:submit\n", f"in:{KEY}:submit ",
    ],
    "ticket": [
        "tk", "tk:", "tk:::", f"tk:{REFERENCE}", f"tk:{REFERENCE}:", f"tk:{REFERENCE}:rate",
        f"tk:{REFERENCE}:rate:", f"tk:{REFERENCE}:rate:0", f"tk:{REFERENCE}:rate:6",
        f"tk:{REFERENCE}:rate:5:6", f"tk:{REFERENCE}:rate:٥", f"tk:{REFERENCE}:rate:05",
        f"tk:{REFERENCE}:rate:+5", f"tk:{REFERENCE}:received:1",
        f"tk:{REFERENCE}:cancel:x", f"tk:{REFERENCE}:not_yet", f"tk:{REFERENCE.lower()}:received",
        "tk:RF-SECRET2:received", "tk:RF-SECRET234:received", "tk:RF-ЅЕСRЕТ23:received", "tk::received",
        f"tk:{REFERENCE}:approve",
    ],
    "menu": ["menu", "menu:", "menu::status", "menu:status:x", "menu:status\n", "menu:STATUS", "menu:nuke",
             "menu:ステータス"],
    "help": ["help", "help:", "help:why:x", "help:../../etc", "help:Why", "help:faq"],
    "language": ["lang", "lang:", "lang:fr", "lang:zh:x", "lang:中文", "lang:ZH", "lang:zh-CN", "lang: zh"],
    "desk": [
        "sd", "sd:", "sd:::", f"sd:{REFERENCE}", f"sd:{REFERENCE}:", f"sd:{REFERENCE}:approve:x",
        f"sd:{REFERENCE}:assign:x:y", f"sd:{REFERENCE}:delete", f"sd:{REFERENCE.lower()}:assign",
        "sd:RF-ЅЕСRЕТ23:assign", f"sd:{REFERENCE}:cancel", "sd::approve", "sd:" + "R" * 100 + ":assign",
        f"tk:{REFERENCE}:approve",
    ],
    "draft": [
        f"sd:{REFERENCE}:send", f"sd:{REFERENCE}:send:", f"sd:{REFERENCE}:send:zzzzzzzzzzzz",
        f"sd:{REFERENCE}:send:{'0' * 11}", f"sd:{REFERENCE}:send:{'0' * 13}", f"sd:{REFERENCE}:send:{TAG}:x",
        f"sd:{REFERENCE}:send:{TAG.upper()}", f"sd:{REFERENCE}:Send:{TAG}", f"sd:{REFERENCE}:approve:{TAG}",
        f"sd:RF-SECRET2:send:{TAG}", f"tk:{REFERENCE}:send:{TAG}",
    ],
    "anything": ["💥" * 40, "x" * 300, ":", "::::", "\x00", "in:\x00:submit"],
}


@pytest.mark.parametrize(
    "data", [pytest.param(data, id=f"{family}-{i}") for family, items in MALFORMED.items()
             for i, data in enumerate(items)],
)
def test_malformed_data_is_no_button_of_any_family(data):
    assert [family.__name__ for family in FAMILIES if family.parse(data) is not None] == []
