"""`refund-bot import-transactions`: an export file in (its layout told by its header), all rows or none."""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession
from tqdm import tqdm

from handlers.exports.detect import read_export
from handlers.exports.refunds import refunds_outside_file, settle_refunds_outside_file
from handlers.exports.report import ExportReport
from handlers.transaction_csv import TELEGRAM_ID
from storage.database import Database
from storage.models import TransactionStatus
from storage.payer_links import link_payers
from storage.transactions import charges_with_ids, mark_refunded, refunded_among, save_transactions

CHUNK = 5_000


class RefundsWithoutCharge(ValueError):
    """Refund lines whose charge is nowhere to be found: nothing was saved."""

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        super().__init__(f"{len(problems)} refund(s) of unknown charges")
        self.problems = problems


def read_file(path: Path, zone: ZoneInfo, *, progress: bool) -> ExportReport:
    """Read and check every line of the file (UnknownExport for a layout or encoding no reader knows)."""
    data = path.read_bytes()
    lines = max(data.count(b"\n") - 1, 0)
    # delay: a file refused at its header leaves one line on the terminal, not a bar
    with tqdm(total=lines, unit="row", desc="checking", disable=not progress, delay=0.5) as bar:
        return read_export(data, zone, on_row=bar.update)


OnSaved = Callable[[AsyncSession, list[str]], Awaitable[object]]


async def save_all(
    db: Database, report: ExportReport, *, progress: bool, on_saved: OnSaved | None = None
) -> list[str]:
    """Save every row in one transaction, with the refunds of charges imported earlier.

    `on_saved` runs in the same transaction with the ids saved as succeeded (the duplicate monitor).

    Returns the transaction ids saved as succeeded. Completes the report with what the database knew
    (earlier charges now refunded, partial refunds); raises RefundsWithoutCharge, saving nothing, when a
    refund's charge is neither in the file nor in the database and its line cannot describe it.
    """
    async with db.transaction() as session:
        known = await charges_with_ids(session, transaction_ids=list(refunds_outside_file(report)))
        settle_refunds_outside_file(report, {c.transaction_id: (c.amount_minor, c.currency) for c in known})
        if report.problems:
            raise RefundsWithoutCharge(report.problems)
        if report.keeps_refunded:
            await _keep_refunded(session, report)
        with tqdm(total=len(report.rows), unit="row", desc="saving", disable=not progress) as bar:
            for start in range(0, len(report.rows), CHUNK):
                chunk = report.rows[start:start + CHUNK]
                links = [(row["payer_id"], row[TELEGRAM_ID]) for row in chunk if row[TELEGRAM_ID]]
                await save_transactions(
                    session, rows=[{k: v for k, v in row.items() if k != TELEGRAM_ID} for row in chunk]
                )
                await link_payers(session, links=links, source="records", now=datetime.now(UTC))
                bar.update(len(chunk))
        await mark_refunded(session, transaction_ids=report.refunded_in_database)
        if on_saved is not None:
            await on_saved(session, report.succeeded_ids())
    return report.succeeded_ids()


async def _keep_refunded(session: AsyncSession, report: ExportReport) -> None:
    """A charge already recorded as refunded stays so when an older export lists it as paid."""
    refunded = await refunded_among(session, transaction_ids=report.succeeded_ids())
    for row in report.rows:
        if row["transaction_id"] in refunded:
            row["status"] = TransactionStatus.REFUNDED.value


def _first_ids(ids: list[str], shown: int = 10) -> str:
    return ", ".join(ids[:shown]) + (f" … ({len(ids)} in all)" if len(ids) > shown else "")


def import_summary(report: ExportReport) -> str:
    """What an import saved: charges, refunds, failed payments, partial refunds (which stay succeeded)."""
    summary = (
        f"imported {len(report.rows)} transaction(s): {report.charges} charge(s), {report.failed} failed "
        f"payment(s); {len(report.refunds)} refund(s): {report.refunded} charge(s) refunded in full, "
        f"{len(report.partial_refunds)} in part (left succeeded); 0 problems"
    )
    if report.refunded_in_database:
        summary += f"\nmarked refunded, imported earlier: {_first_ids(report.refunded_in_database)}"
    if report.partial_refunds:
        summary += f"\npartly refunded, left succeeded: {_first_ids(report.partial_refunds)}"
    if report.unfinished_refunds:
        summary += f"\n{report.unfinished_refunds} refund line(s) that failed or were closed were ignored"
    return summary
