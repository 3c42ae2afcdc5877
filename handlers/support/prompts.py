"""Reject, Ask, outside refund: the agent's next thread message is previewed, then sent, edited or dropped."""

import hashlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from babel.dates import format_timedelta

from handlers.buttons import DraftButton, DraftVerb
from handlers.events import Button, ClearButtons, EventKind, Reply, Toast
from handlers.money import Money
from handlers.parsing import InputRejected
from handlers.payer.menu import LANGUAGE_NAMES
from handlers.refunds.lifecycle import move_ticket
from handlers.refunds.outside import outside_notice, read_outside_refund, record_outside_refund
from handlers.refunds.refunding import ChargeAlreadyRefunded, RefundExists
from handlers.support.cards import ACTION_STATUSES, ACTIONABLE
from handlers.texts import BABEL_LOCALES, format_money
from storage.models import AgentPrompt, Ticket, TicketStatus, id_of
from storage.support_cards import card_in_thread, card_of, prompt_of, prompts_on_ticket, set_prompt
from storage.tickets import ticket_by_reference

if TYPE_CHECKING:
    from handlers.support.desk import DeskTurn, SupportDesk

MAX_WORDS = 1000  # what a payer notice carries; the draft column holds 1024
NOTICES = {"reject": ("notice.rejected", "reason"), "ask": ("notice.question", "question")}
OUTSIDE = "outside"  # refunded outside the bot: the draft is the amount and a note


def draft_tag(prompt: AgentPrompt) -> str:
    """Names one draft of one prompt: a new prompt, a new draft or an edit leaves older previews inert."""
    moment = prompt.created_at.astimezone(UTC).isoformat()
    seed = f"{prompt.agent_id}:{prompt.ticket_id}:{prompt.action}:{moment}:{prompt.draft}"
    return hashlib.sha256(seed.encode()).hexdigest()[:12]


def _may_still(action: str, ticket: Ticket) -> bool:
    """Whether the ticket's status still allows the prompt's action (the card buttons' own rule)."""

    return ticket.status in ACTION_STATUSES.get(action, ACTIONABLE)


def _expired(desk: "SupportDesk", prompt: AgentPrompt, now: datetime) -> bool:
    return now - prompt.created_at > desk.support.prompt_timeout


def _timeout_text(desk: "SupportDesk") -> str:
    locale = BABEL_LOCALES.get(desk.support.locale, "en_US")
    return format_timedelta(desk.support.prompt_timeout, threshold=2, locale=locale)  # 90 min, not "2 hours"


def _say(desk: "SupportDesk", turn: "DeskTurn", key: str, **params: object) -> None:
    turn.outputs.append(Reply(desk.t(key, name=turn.agent, **params)))


def _reported(desk: "SupportDesk", ticket: Ticket) -> str:
    """The ticket's reported amount, as the support group reads it."""
    return _money(desk, Money.from_minor(ticket.amount_minor, ticket.currency))


def _money(desk: "SupportDesk", money: Money) -> str:
    return format_money(money.amount, money.currency, desk.support.locale)


def _readable_outside_refund(desk: "SupportDesk", turn: "DeskTurn", ticket: Ticket, words: str) -> bool:
    """Whether the words are an outside refund's amount and note; if not, the agent is told what is wrong."""
    try:
        read_outside_refund(words, ticket)
    except InputRejected as error:
        _say(desk, turn, error.key, reference=ticket.reference, reported=_reported(desk, ticket),
             currency=ticket.currency, **error.params)
        return False
    return True


def _clear_preview(turn: "DeskTurn") -> None:
    if turn.event.message_id is not None:
        turn.outputs.append(ClearButtons(turn.event.message_id))


async def start_prompt(desk: "SupportDesk", turn: "DeskTurn", ticket: Ticket, action: str) -> None:
    """Reject or Ask pressed: the agent's next message on this ticket becomes a draft (their only prompt)."""
    await set_prompt(
        turn.session, agent_id=turn.event.person.id, ticket_id=id_of(ticket), action=action, now=turn.now
    )
    _say(desk, turn, f"desk.prompt_{action}", reference=ticket.reference, timeout=_timeout_text(desk),
         amount=_reported(desk, ticket))


async def take_agent_message(desk: "SupportDesk", turn: "DeskTurn") -> None:
    """An agent wrote in a ticket's thread: a draft to preview if they have a prompt there, else a note."""
    event, session = turn.event, turn.session
    card = await card_in_thread(
        session, chat_id=event.chat_id, thread_id=event.thread_id, reply_to=event.reply_to_message_id
    )
    if card is None:
        return
    ticket = await session.get(Ticket, card.ticket_id, with_for_update=True)  # ticket, then prompt
    assert ticket is not None  # a card's ticket is never deleted
    prompt = await prompt_of(session, agent_id=event.person.id, lock=True)
    if prompt is None or prompt.ticket_id != ticket.id:
        return  # an internal note: it never reaches the payer
    if _expired(desk, prompt, turn.now):
        await session.delete(prompt)  # so the agent is told once
        _say(desk, turn, "desk.prompt_expired", reference=ticket.reference, timeout=_timeout_text(desk),
             reject=desk.t("desk.reject"), ask=desk.t("desk.ask"))
        return
    if prompt.draft is not None:
        return  # a preview waits for Send, Edit or Cancel; meanwhile messages are notes
    words = event.text.strip() if event.kind is EventKind.TEXT else ""
    if not words:
        _say(desk, turn, "desk.draft_needs_text")
        return
    if len(words) > MAX_WORDS:
        _say(desk, turn, "desk.draft_too_long", length=len(words), limit=MAX_WORDS)
        return
    if not _may_still(prompt.action, ticket):
        await session.delete(prompt)
        turn.outputs.append(Reply(desk.t("desk.too_late", status=desk.t(f"status.{ticket.status}"),
                                         name=card.last_actor_name or "?")))
        return
    if prompt.action == OUTSIDE and not _readable_outside_refund(desk, turn, ticket, words):
        return  # the prompt stays: the agent's next message is read again
    prompt.draft, prompt.created_at = words, turn.now  # the preview gets the full timeout to be sent
    session.add(prompt)
    await _show_preview(desk, turn, ticket, prompt)


async def _show_preview(desk: "SupportDesk", turn: "DeskTurn", ticket: Ticket, prompt: AgentPrompt) -> None:
    assert prompt.draft is not None  # only a draft is previewed
    header, amount = "desk.preview", ""
    if prompt.action == OUTSIDE:
        outside = read_outside_refund(prompt.draft, ticket)  # read when the draft was taken
        locale, text = await outside_notice(turn.session, desk.policy, ticket, outside)
        header, amount = "desk.preview_outside", _money(desk, outside.amount)
    else:
        key, field = NOTICES[prompt.action]
        notifier = desk.policy.notifier
        locale, text = await notifier.payer_text(turn.session, ticket, key, **{field: prompt.draft})
    tag = draft_tag(prompt)
    buttons = ((
        *(Button(desk.t(f"desk.draft_{verb}"), DraftButton(ticket.reference, verb, tag).pack())
          for verb in DraftVerb),
    ),)
    preview = desk.t(header, reference=ticket.reference, name=turn.agent, amount=amount,
                     language=LANGUAGE_NAMES.get(locale, locale), text=text)
    turn.outputs.append(Reply(preview[:4096], buttons))


async def press_draft_button(desk: "SupportDesk", turn: "DeskTurn", button: DraftButton) -> None:
    """Send, Edit or Cancel on a preview: only its writer's, only its latest draft, only before it expires."""
    session, agent_id = turn.session, turn.event.person.id
    ticket = await ticket_by_reference(session, reference=button.reference, lock=True)
    prompt = await prompt_of(session, agent_id=agent_id, lock=True)
    if (
        ticket is None
        or prompt is None
        or prompt.ticket_id != ticket.id
        or prompt.draft is None
        or draft_tag(prompt) != button.tag
    ):
        others = await prompts_on_ticket(session, ticket_id=id_of(ticket)) if ticket else []
        theirs = any(p.agent_id != agent_id and draft_tag(p) == button.tag for p in others)
        turn.outputs.append(Toast(desk.t("desk.draft_not_yours" if theirs else "button.stale")))
        return
    _clear_preview(turn)
    if button.verb is DraftVerb.EDIT and not _expired(desk, prompt, turn.now):
        prompt.draft, prompt.created_at = None, turn.now  # the next message is the new draft
        session.add(prompt)
        _say(desk, turn, "desk.draft_rewrite", reference=ticket.reference, timeout=_timeout_text(desk))
        return
    await session.delete(prompt)
    if _expired(desk, prompt, turn.now):
        turn.outputs.append(Toast(desk.t("desk.draft_expired", reject=desk.t("desk.reject"),
                                         ask=desk.t("desk.ask"))))
    elif button.verb is DraftVerb.CANCEL:
        _say(desk, turn, "desk.draft_cancelled", reference=ticket.reference)
    else:
        await _send(desk, turn, ticket, prompt)


async def _send(desk: "SupportDesk", turn: "DeskTurn", ticket: Ticket, prompt: AgentPrompt) -> None:
    session, words, actor = turn.session, prompt.draft, f"agent:{turn.event.person.id}"
    assert words is not None  # only a previewed draft is sent
    card = await card_of(session, ticket_id=id_of(ticket), lock=True)
    if not _may_still(prompt.action, ticket):  # someone acted while the preview waited
        turn.outputs.append(Reply(desk.t(
            "desk.draft_too_late", reference=ticket.reference, status=desk.t(f"status.{ticket.status}"),
            name=(card.last_actor_name if card else None) or "?",
        )))
        return
    notifier = desk.policy.notifier
    if prompt.action == "reject":
        await move_ticket(session, ticket, TicketStatus.REJECTED, actor=actor, note=words, now=turn.now)
        await notifier.tell_payer(session, ticket, "notice.rejected", now=turn.now, dedupe="rejected",
                                  reason=words)
        desk._acted(card, turn, "desk.reject")
        turn.outputs.append(Reply(desk.t("desk.rejected", reference=ticket.reference, name=turn.agent)))
    elif prompt.action == OUTSIDE:
        if not await _record_outside(desk, turn, ticket, words):
            return
        desk._acted(card, turn, "desk.outside")
    else:
        if ticket.status != TicketStatus.NEEDS_INFO:
            await move_ticket(session, ticket, TicketStatus.NEEDS_INFO, actor=actor, note=words, now=turn.now)
        await notifier.tell_payer(session, ticket, "notice.question", now=turn.now,
                                  dedupe=f"question:{turn.event.update_id}", question=words)
        desk._acted(card, turn, "desk.ask")
        turn.outputs.append(Reply(desk.t("desk.asked", reference=ticket.reference)))
    if card is not None:
        card.touched_at, card.sla_pings = turn.now, 0
        session.add(card)


async def _record_outside(desk: "SupportDesk", turn: "DeskTurn", ticket: Ticket, words: str) -> bool:
    """Send on an outside refund's preview: record it, close the ticket, tell the payer; or say why not."""
    outside, reference = read_outside_refund(words, ticket), ticket.reference
    try:
        await record_outside_refund(turn.session, desk.policy, ticket, outside, agent=turn.agent,
                                    actor=f"agent:{turn.event.person.id}", now=turn.now)
    except RefundExists as exists:
        turn.outputs.append(await desk._existing_refund(turn, ticket, exists.refund))
        return False
    except ChargeAlreadyRefunded:
        turn.outputs.append(Reply(desk.t("desk.outside_charge_taken", reference=reference)))
        return False
    turn.outputs.append(Reply(desk.t("desk.refunded_outside", reference=reference, name=turn.agent,
                                     amount=_money(desk, outside.amount), note=outside.note)))
    return True
