"""`refund-bot import-transactions`: a CSV file in, all rows or none."""

import csv
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from tqdm import tqdm

from handlers.transaction_csv import TELEGRAM_ID, CsvReport, check_header, read_rows
from storage.database import Database
from storage.payer_links import link_payers
from storage.transactions import save_transactions

CHUNK = 5_000


def read_csv(path: Path, zone: ZoneInfo, *, progress: bool) -> CsvReport:
    """Read and check every row of the file (line numbers count the header as line 1)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        total = sum(1 for _ in handle) - 1
        handle.seek(0)
        reader = csv.DictReader(handle)
        problem = check_header(reader.fieldnames)
        if problem:
            return CsvReport(problems=[(1, problem)])
        reader.fieldnames = [name.strip() for name in reader.fieldnames]
        rows = ((reader.line_num, row) for row in reader)
        bar = tqdm(rows, total=max(total, 0), unit="row", desc="checking", disable=not progress)
        return read_rows(bar, zone)


async def save_all(db: Database, report: CsvReport, *, progress: bool) -> None:
    """Save every row in one transaction."""
    with tqdm(total=len(report.rows), unit="row", desc="saving", disable=not progress) as bar:
        async with db.transaction() as session:
            for start in range(0, len(report.rows), CHUNK):
                chunk = report.rows[start:start + CHUNK]
                links = [(row["payer_id"], row[TELEGRAM_ID]) for row in chunk if row[TELEGRAM_ID]]
                await save_transactions(
                    session, rows=[{k: v for k, v in row.items() if k != TELEGRAM_ID} for row in chunk]
                )
                await link_payers(session, links=links, source="records", now=datetime.now(UTC))
                bar.update(len(chunk))
