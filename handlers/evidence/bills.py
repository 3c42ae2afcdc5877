"""Which files count as a payer's wallet bill (a CSV export), and reading one under a size cap."""

import hashlib
from dataclasses import dataclass
from enum import StrEnum

from handlers.events import Attachment
from handlers.evidence.received import Received
from handlers.exports.decoding import UnreadableFile, decode_export
from handlers.exports.payer_bills import MalformedBill, NotABill, PayerBill, read_payer_bill
from handlers.parsing import InputRejected

MAX_BILL_BYTES = 2 * 1024 * 1024  # a year of a busy payer's bill is a few hundred KB
BILL_MIME_TYPE = "text/csv"  # how a kept bill is recorded, whatever the phone called it
# Phones and desktops label a .csv in all these ways (Windows: as an Excel file).
CSV_MIME_TYPES = frozenset({"text/csv", "text/comma-separated-values", "application/vnd.ms-excel"})
SPREADSHEET_MIME_TYPES = frozenset({"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"})
SPREADSHEET_SUFFIXES = (".xlsx", ".xls")
# xlsx is a ZIP, old xls an OLE compound file: whatever the name says, these bytes are no CSV.
SPREADSHEET_SIGNATURES = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")


class BillKind(StrEnum):
    """What a document declares itself to be."""

    CSV = "csv"
    SPREADSHEET = "spreadsheet"


def bill_kind(attachment: Attachment) -> BillKind | None:
    """A CSV or a spreadsheet by its declared type or name; None for anything else (an image/* whatever its
    name: it stays a screenshot)."""
    name = (attachment.file_name or "").strip().lower()
    mime = (attachment.mime_type or "").strip().lower()
    if mime.startswith("image/"):
        return None
    if mime in SPREADSHEET_MIME_TYPES or name.endswith(SPREADSHEET_SUFFIXES):
        return BillKind.SPREADSHEET
    if mime in CSV_MIME_TYPES or name.endswith(".csv"):
        return BillKind.CSV
    return None


def check_declared_bill(attachment: Attachment) -> None:
    """Refuse, before downloading, a spreadsheet (we read CSV only) or a file over the cap."""
    if bill_kind(attachment) is BillKind.SPREADSHEET:
        raise InputRejected("bill.spreadsheet")
    if attachment.file_size is not None and attachment.file_size > MAX_BILL_BYTES:
        raise bill_too_large()


def bill_too_large() -> InputRejected:
    """The refusal of a bill over MAX_BILL_BYTES."""
    return InputRejected("bill.too_large", max_mb=MAX_BILL_BYTES // (1024 * 1024))


@dataclass(frozen=True)
class CheckedBill:
    """Bytes read as a WeChat or Alipay bill within the cap."""

    data: bytes
    sha256: str
    bill: PayerBill
    mime_type: str = BILL_MIME_TYPE


ReceivedBill = Received[CheckedBill]


def check_bill(data: bytes) -> CheckedBill:
    """Read the bytes as a payer's bill, or InputRejected naming what they are instead."""
    if len(data) > MAX_BILL_BYTES:
        raise bill_too_large()
    if data.startswith(SPREADSHEET_SIGNATURES):
        raise InputRejected("bill.spreadsheet")
    try:
        text, _ = decode_export(data)
        bill = read_payer_bill(text)
    except (UnreadableFile, NotABill) as error:
        raise InputRejected("bill.not_a_bill") from error
    except MalformedBill as error:
        raise InputRejected(f"bill.malformed_{error.platform.value}", line=error.line) from error
    return CheckedBill(data, hashlib.sha256(data).hexdigest(), bill)
