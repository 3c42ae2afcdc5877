"""The `refund-bot` command."""

import argparse
import asyncio
import contextlib
import json
import logging
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import ConfigError, Settings, load_settings
from bot.log_redaction import redact_secrets
from bot.runners import RunnerUnavailable, runner_factory
from bot.startup_checks import check_start_up
from bot.transaction_import import RefundsWithoutCharge, import_summary, read_file, save_all
from bot.wiring import Services, build_services, utc_now
from handlers.durations import parse_duration
from handlers.exports.detect import UnknownExport
from handlers.merchant.compose import check_broadcast_text, read_send_time
from handlers.merchant.tips import TIP_COUNT, broadcast_text
from handlers.money import Money
from handlers.monitor.arrivals import Source, charges_arrived_by_id
from handlers.parsing import InputRejected
from handlers.payer.deep_link import make_token
from handlers.refunds.lifecycle import IllegalTransition
from handlers.refunds.refunding import (
    ChargeAlreadyRefunded,
    NoDuplicateCharge,
    RefundCall,
    RefundExists,
    land_by_reference,
)
from handlers.refunds.requests import Answer, approve_and_send, send_refund_requests
from handlers.texts import Texts
from storage.broadcasts import (
    OPEN,
    BroadcastCounts,
    add_broadcast,
    broadcast_by_id,
    cancel_broadcast,
    counts_of,
    recent_broadcasts,
)
from storage.models import Broadcast, BroadcastStatus
from storage.tickets import all_tickets
from storage.users import tip_subscriber_counts

BOT_NAME, BOT_USERNAME = "Refund Assistant", "refund_assistant_bot"  # how the sandbox presents this bot
AUDIENCES = ("all", "en", "zh")
LISTED_BROADCASTS = 1000


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="refund-bot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="migrate the database, then run the bot (long polling)")
    commands.add_parser("migrate", help="migrate the database to the latest schema")
    importer = commands.add_parser(
        "import-transactions",
        help="import the merchant's transactions: our CSV, a WeChat Pay or Alipay bill, or a Stripe export",
    )
    importer.add_argument("file", type=Path)
    importer.add_argument("--no-progress", action="store_true", help="no progress bar")
    tickets = commands.add_parser("tickets", help="list tickets, or approve one")
    tickets.add_argument("--json", action="store_true", help="print a JSON array")
    ticket_actions = tickets.add_subparsers(dest="action")
    approve = ticket_actions.add_parser("approve", help="approve a ticket and refund its duplicate charge")
    approve.add_argument("reference")
    refunds = commands.add_parser("refunds", help="ledger refunds")
    refund_actions = refunds.add_subparsers(dest="action", required=True)
    landed = refund_actions.add_parser("mark-landed", help="the refund arrived (ledger provider)")
    landed.add_argument("reference")
    landed.add_argument("--bank-reference", default=None)
    payers = commands.add_parser("payers", help="link Telegram users to the merchant's payer ids")
    payer_actions = payers.add_subparsers(dest="action", required=True)
    link = payer_actions.add_parser("link", help="print a signed deep link that links its opener to PAYER_ID")
    link.add_argument("payer_id")
    link.add_argument("--ttl", default=None, help="how long the link works (e.g. 7d; default LINK_TTL)")
    _broadcasts_parser(commands)
    commands.add_parser(
        "gc", help="delete screenshots nothing refers to after EVIDENCE_RETENTION, and stray evidence files"
    )
    sandbox = commands.add_parser("sandbox", help="serve the local Telegram Bot API sandbox")
    sandbox.add_argument("--port", type=int, default=8081)
    sandbox.add_argument("--token", default="123456:sandbox-token")
    return parser


def _broadcasts_parser(commands: argparse._SubParsersAction) -> None:
    broadcasts = commands.add_parser("broadcasts", help="queue, list or cancel payment-safety tip broadcasts")
    actions = broadcasts.add_subparsers(dest="action", required=True)
    send = actions.add_parser("send", help="queue a broadcast the running bot delivers; prints its id")
    send.add_argument("--tip", type=int, help=f"a tip of the built-in library, 1 to {TIP_COUNT}")
    send.add_argument("--text-file", type=Path, help="your own tip, in English (UTF-8 text)")
    send.add_argument("--text-file-zh", type=Path, help="your own tip, in Chinese (UTF-8 text)")
    send.add_argument("--audience", choices=AUDIENCES, default="all", help="subscribers of this language")
    send.add_argument("--at", help='"YYYY-MM-DD HH:MM" in TIMEZONE (default: now)')
    send.add_argument("--yes", action="store_true", help="queue without showing the preview and asking")
    listing = actions.add_parser("list", help="broadcasts, newest first, with their counts")
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    cancel = actions.add_parser("cancel", help="cancel a scheduled or running broadcast (drops its unsent)")
    cancel.add_argument("id", type=int)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    arguments = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # else one INFO line per Bot API call on PTB
    if arguments.command == "sandbox":
        from telegram_sandbox.__main__ import serve

        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve("127.0.0.1", arguments.port, arguments.token, BOT_USERNAME, False, BOT_NAME))
        return 0
    if arguments.command == "import-transactions" and not arguments.file.is_file():
        print(f"refund-bot: {arguments.file}: no such file", file=sys.stderr)
        return 2
    try:
        settings = load_settings()
    except ConfigError as error:
        for problem in str(error).splitlines():
            print(f"refund-bot: configuration error: {problem}", file=sys.stderr)
        return 2
    redact_secrets(settings.bot_token.get_secret_value(), settings.merchant_webhook_secret.get_secret_value(),
                   settings.link_secret.get_secret_value(), settings.webhook_secret.get_secret_value())
    action = {
        "run": run_bot,
        "migrate": migrate,
        "import-transactions": import_transactions,
        "tickets": approve_ticket if getattr(arguments, "action", None) == "approve" else list_tickets,
        "refunds": mark_landed,
        "gc": collect_evidence,
        "payers": link_payer,
        "broadcasts": {"send": send_broadcast, "list": list_broadcasts, "cancel": cancel_broadcast_by_id}.get(
            getattr(arguments, "action", "")
        ),
    }[arguments.command]
    return asyncio.run(action(settings, arguments))


async def run_bot(settings: Settings, arguments) -> int:
    """Migrate, then run the BOT_RUNTIME's runner until SIGTERM or Ctrl-C."""
    try:
        make_runner = runner_factory(settings.bot_runtime)  # a setting alone tells; no network needed
    except RunnerUnavailable as error:
        print(f"refund-bot: {error}", file=sys.stderr)
        return 2
    if failed := await check_start_up(settings):  # token, Telegram, support group, database: one line each
        return failed
    async with opened(settings) as services:  # the runner serves the merchant endpoints, if configured
        await make_runner(services).run()
    return 0


async def migrate(settings: Settings, arguments) -> int:
    """Bring the database schema up to date."""
    async with opened(settings):  # opening migrates
        print("database is up to date")
    return 0


async def import_transactions(settings: Settings, arguments) -> int:
    """Import a transactions export (layout told by its header): every row, or none if any row is bad."""
    path: Path = arguments.file
    progress = not arguments.no_progress
    try:
        report = read_file(path, settings.zone, progress=progress)
    except UnknownExport as error:
        print(f"refund-bot: {path}: {error}", file=sys.stderr)
        return 2
    if report.problems:
        return _refuse_import(path, report.problems)
    try:
        async with opened(settings) as services:
            calls: list[RefundCall] = []

            async def watch(session: AsyncSession, saved: list[str]) -> None:
                calls.extend(await charges_arrived_by_id(
                    session, services.charge_watch(), saved, now=services.clock(), source=Source.IMPORT
                ))

            await save_all(services.db, report, progress=progress, on_saved=watch)
            await send_refund_requests(services.db, services.refund_policy(), services.clock, calls)
    except RefundsWithoutCharge as error:
        return _refuse_import(path, error.problems)
    print(f"format: {report.title}, {report.encoding}")
    print(import_summary(report))
    if calls:
        print(f"{len(calls)} waiting ticket(s) now confirmed by these charges: refunds requested")
    return 0


def _refuse_import(path: Path, problems: list[tuple[int, str]]) -> int:
    """Print the bad lines (the first 50) and say nothing was imported."""
    for line, reason in problems[:50]:
        print(f"{path}:{line}: {reason}", file=sys.stderr)
    if len(problems) > 50:
        print(f"… and {len(problems) - 50} more problems", file=sys.stderr)
    print(f"refund-bot: nothing imported: {len(problems)} bad row(s)", file=sys.stderr)
    return 1


async def list_tickets(settings: Settings, arguments) -> int:
    """Print every ticket, as JSON or as a table."""
    async with opened(settings) as services, services.db.transaction() as session:
        tickets = await all_tickets(session)
    rows = [ticket_json(t) for t in tickets]
    if arguments.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        for row in rows:
            print(
                f"{row['reference']}  {row['status']:<14} {row['amount']:>12} {row['currency']}  "
                f"order {row['order_id'] or '-'}  user {row['user_id']}  {row['created_at']}"
            )
    return 0


async def approve_ticket(settings: Settings, arguments) -> int:
    """Approve a ticket by hand: record the refund of its duplicate charge, then ask the provider."""
    try:
        async with opened(settings) as services:
            ticket, sent = await approve_and_send(
                services.db, services.refund_policy(), services.clock,
                reference=arguments.reference.upper(), actor="operator:cli",
            )
    except LookupError as error:
        print(f"refund-bot: {error.args[0]}", file=sys.stderr)
        return 1
    except (IllegalTransition, NoDuplicateCharge, RefundExists, ChargeAlreadyRefunded) as error:
        print(f"refund-bot: {error}", file=sys.stderr)
        return 1
    refund = sent.refund
    charge = f"refund of charge {refund.transaction_id} {refund.status}" if refund else "refund requested"
    if sent.answer is Answer.UNKNOWN:
        charge += " (no answer from the provider yet; the bot keeps asking with the same key)"
    print(f"{ticket.reference}: {ticket.status}, {charge}")
    return 0


async def mark_landed(settings: Settings, arguments) -> int:
    """An operator saw the refund arrive: close the ticket and tell the payer."""
    async with opened(settings) as services, services.db.transaction() as session:
        reference = arguments.reference.upper()
        ticket = await land_by_reference(session, services.refund_policy(), reference=reference,
                                         bank_reference=arguments.bank_reference, now=services.clock())
        if ticket is None:
            print(f"refund-bot: {reference} has no refund on its way; nothing to mark", file=sys.stderr)
            return 1
        print(f"{ticket.reference}: refunded")
    return 0


async def link_payer(settings: Settings, arguments) -> int:
    """Print the deep link a merchant puts on a receipt: whoever opens it is linked to the payer id."""
    secret = settings.link_secret_bytes
    if secret is None:
        print("refund-bot: LINK_SECRET is not set, so deep links are off; set it in the environment or .env "
              "(e.g. LINK_SECRET=$(python -c 'import secrets; print(secrets.token_urlsafe(32))'))",
              file=sys.stderr)
        return 2
    ttl = settings.link_ttl
    if arguments.ttl is not None:
        try:
            ttl = parse_duration(arguments.ttl)
        except ValueError:
            ttl = None
        if ttl is None or ttl <= timedelta(0):
            print(f"refund-bot: --ttl {arguments.ttl!r} must be a positive duration like 12h, 7d or 4w",
                  file=sys.stderr)
            return 2
    expires_at = utc_now() + ttl
    try:
        token = make_token(secret, arguments.payer_id, expires_at)
    except ValueError as error:
        print(f"refund-bot: {error}", file=sys.stderr)
        return 2
    if settings.bot_username:
        print(f"https://t.me/{settings.bot_username}?start={token}")
    else:
        print(token)
        print(f"https://t.me/<bot username>?start={token}")
        print("refund-bot: set BOT_USERNAME to print the whole link", file=sys.stderr)
    print(f"refund-bot: the link works until {expires_at.isoformat(timespec='seconds')}", file=sys.stderr)
    return 0


async def collect_evidence(settings: Settings, arguments) -> int:
    """Delete unused screenshots past their retention (the daily clean-up, now) and say what went."""
    async with opened(settings) as services:
        collector = services.evidence_collector()
        if collector.retention is None:
            print("EVIDENCE_RETENTION is off: every screenshot is kept")
            return 0
        cleanup = await collector.collect()
    for row in cleanup.rows:
        print(f"removed screenshot {row.sha256} ({row.size} bytes, sent by user {row.uploaded_by or '?'})")
    for sha256 in cleanup.files_without_row:
        print(f"removed file without an evidence row {sha256}")
    print(
        f"removed {len(cleanup.rows)} unused screenshot(s), {len(cleanup.files_without_row)} file(s) without "
        f"a row and {cleanup.half_written_files} half-written file(s); {cleanup.bytes_freed} bytes freed"
    )
    return 0


class BroadcastRefused(ValueError):
    """The broadcast asked for cannot be queued; the text says why in one line."""


def _tip_text(path: Path, texts: Texts) -> str:
    """A tip written in a file, checked as the chat checks a typed one."""
    try:
        raw = path.read_bytes()[: 64 * 1024].decode("utf-8")
    except OSError as error:
        raise BroadcastRefused(f"{path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise BroadcastRefused(f"{path}: not UTF-8 text") from None
    try:
        return check_broadcast_text(raw)
    except InputRejected as rejected:
        raise BroadcastRefused(f"{path}: {texts.get('en', rejected.key, **rejected.params)}") from None


def broadcast_from_arguments(arguments, settings: Settings, texts: Texts) -> Broadcast:
    """The broadcast `broadcasts send` asks for (not stored yet), or BroadcastRefused."""
    now = utc_now()
    custom = arguments.text_file is not None or arguments.text_file_zh is not None
    if (arguments.tip is None) == (not custom):
        raise BroadcastRefused("give either --tip N or --text-file FILE (and/or --text-file-zh FILE)")
    if arguments.tip is not None and not 1 <= arguments.tip <= TIP_COUNT:
        raise BroadcastRefused(f"--tip {arguments.tip}: the library has tips 1 to {TIP_COUNT}")
    scheduled_at = now
    if arguments.at is not None:
        try:
            scheduled_at = read_send_time(arguments.at, now=now, zone=settings.zone)
        except InputRejected as rejected:
            said = texts.get("en", rejected.key, **rejected.params)
            raise BroadcastRefused(f"--at {arguments.at!r}: {said}") from None
    return Broadcast(
        status=BroadcastStatus.SCHEDULED, source="cli", tip_number=arguments.tip,
        text_en=_tip_text(arguments.text_file, texts) if arguments.text_file else None,
        text_zh=_tip_text(arguments.text_file_zh, texts) if arguments.text_file_zh else None,
        audience=arguments.audience, paid=settings.broadcast_paid, scheduled_at=scheduled_at, created_at=now,
    )


def print_preview(broadcast: Broadcast, texts: Texts, settings: Settings, reach: dict[str, int]) -> None:
    """Each language's message exactly as subscribers get it, with its button, and who gets it when."""
    languages = ("en", "zh") if broadcast.audience == "all" else (broadcast.audience,)
    for locale in languages:
        print(f"--- {locale}: {reach.get(locale, 0)} subscriber(s) ---")
        print(broadcast_text(texts, broadcast, locale, settings.default_locale))
        print(f"[ {texts.get(locale, 'tips.stop_button')} ]")
    when = broadcast.scheduled_at.astimezone(settings.zone).strftime("%Y-%m-%d %H:%M %Z")
    print(f"--- to {sum(reach.get(locale, 0) for locale in languages)} subscriber(s), at {when} ---")


async def send_broadcast(settings: Settings, arguments) -> int:
    """Queue a broadcast (after the preview and a yes, unless --yes); print its id."""
    texts = Texts.load()
    try:
        broadcast = broadcast_from_arguments(arguments, settings, texts)
    except BroadcastRefused as error:
        print(f"refund-bot: {error}", file=sys.stderr)
        return 2
    async with opened(settings) as services:
        async with services.db.transaction() as session:
            reach = await tip_subscriber_counts(session)
        if not arguments.yes:
            print_preview(broadcast, texts, settings, reach)
            print("Queue this broadcast? [y/N] ", end="", file=sys.stderr, flush=True)
            if sys.stdin.readline().strip().lower() not in ("y", "yes"):
                print("refund-bot: nothing queued", file=sys.stderr)
                return 1
        async with services.db.transaction() as session:
            await add_broadcast(session, broadcast)
    print(broadcast.id)
    when = broadcast.scheduled_at.astimezone(settings.zone).isoformat(timespec="minutes")
    print(f"refund-bot: broadcast {broadcast.id} queued for {when}; the running bot sends it",
          file=sys.stderr)
    return 0


async def list_broadcasts(settings: Settings, arguments) -> int:
    """Print the broadcasts, newest first, with their counts."""
    async with opened(settings) as services, services.db.transaction() as session:
        broadcasts = await recent_broadcasts(session, limit=LISTED_BROADCASTS)
        counts = await counts_of(session, broadcasts)
    rows = [broadcast_json(b, counts[b.id]) for b in broadcasts]
    if arguments.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for broadcast, row in zip(broadcasts, rows, strict=True):
        what = f"tip {row['tip']}" if row["tip"] is not None else "own text"
        when = broadcast.scheduled_at.astimezone(settings.zone).strftime("%Y-%m-%d %H:%M")
        print(
            f"#{row['id']:<5} {row['status']:<9} {when}  {what:<8} {row['audience']:<3} "
            f"recipients {row['recipients']}  sent {row['sent']}  delivered {row['delivered']}  "
            f"unreachable {row['unreachable']}  failed {row['failed']}"
        )
    return 0


def broadcast_json(broadcast: Broadcast, counts: BroadcastCounts) -> dict:
    """A broadcast with its counts, as `broadcasts list --json` prints it (times ISO 8601)."""
    def moment(value):
        return value.isoformat() if value is not None else None

    return {
        "id": broadcast.id, "status": broadcast.status, "source": broadcast.source,
        "tip": broadcast.tip_number,
        "audience": broadcast.audience, "scheduled_at": moment(broadcast.scheduled_at),
        "started_at": moment(broadcast.started_at), "finished_at": moment(broadcast.finished_at),
        "recipients": counts.recipients, "sent": counts.sent, "delivered": counts.delivered,
        "unreachable": counts.unreachable, "failed": counts.failed,
    }


async def cancel_broadcast_by_id(settings: Settings, arguments) -> int:
    """Cancel a scheduled or running broadcast: its unsent messages are dropped."""
    async with opened(settings) as services, services.db.transaction() as session:
        broadcast = await broadcast_by_id(session, broadcast_id=arguments.id, lock=True)
        if broadcast is None:
            print(f"refund-bot: there is no broadcast {arguments.id}", file=sys.stderr)
            return 1
        if broadcast.status not in OPEN:
            print(f"refund-bot: broadcast {arguments.id} is {broadcast.status}; only a scheduled or running "
                  "one can be cancelled", file=sys.stderr)
            return 1
        dropped = await cancel_broadcast(session, broadcast, now=services.clock())
    print(f"broadcast {arguments.id} cancelled; {dropped} unsent message(s) dropped")
    return 0


@contextlib.asynccontextmanager
async def opened(settings: Settings) -> AsyncIterator[Services]:
    """The services of one command (the database migrated first), closed at the end."""
    services = await build_services(settings)
    try:
        yield services
    finally:
        await services.close()


def ticket_json(ticket) -> dict:
    """A ticket as the operator contract prints it (amount as a string, times ISO 8601)."""
    return {
        "reference": ticket.reference,
        "order_id": ticket.order_id,
        "user_id": ticket.user_id,
        "amount": str(Money.from_minor(ticket.amount_minor, ticket.currency).amount),
        "currency": ticket.currency,
        "status": ticket.status,
        "paid_at": ticket.paid_at.isoformat(),
        "created_at": ticket.created_at.isoformat(),
        "updated_at": ticket.updated_at.isoformat(),
    }


if __name__ == "__main__":
    sys.exit(main())
