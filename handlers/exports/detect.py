"""Which export a file is, told by its header, and the report of reading it with that layout's reader."""

import csv
import io
import zipfile
from collections.abc import Callable, Iterator
from zoneinfo import ZoneInfo

from handlers.exports import alipay, own_layout, stripe, wechat_pay
from handlers.exports.cells import clean
from handlers.exports.decoding import UnreadableFile, decode_export
from handlers.exports.layout import ExportLayout, LayoutReading, NumberedCells
from handlers.exports.refunds import apply_refunds_in_file
from handlers.exports.report import ExportReport
from handlers.transaction_csv import check_header

LAYOUTS: tuple[ExportLayout, ...] = (own_layout.LAYOUT, wechat_pay.LAYOUT, alipay.LAYOUT, stripe.LAYOUT)
ZIP_MAGIC = b"PK\x03\x04"
MAX_ZIP_MEMBERS, MAX_UNZIPPED_BYTES = 16, 512 * 2**20  # Alipay's csv.zip holds two files
COLUMNS_SHOWN = 6


class UnknownExport(ValueError):
    """A layout or encoding no reader knows; the message is one line: what was found, what is known."""


def read_export(data: bytes, zone: ZoneInfo, *, on_row: Callable[[], object] | None = None) -> ExportReport:
    """Read the file's bytes with the reader its header calls for; `zone` is for times the file leaves bare.

    `on_row` is called once per line read (a progress bar). Raises UnknownExport.
    """
    if data.startswith(ZIP_MAGIC):
        return _read_zipped(data, zone, on_row)
    try:
        text, encoding = decode_export(data)
    except UnreadableFile as error:
        raise UnknownExport(str(error)) from None
    lines = _numbered_cells(text)
    header = next(lines, None)
    if header is None:
        return ExportReport(own_layout.LAYOUT.name, own_layout.LAYOUT.title, encoding,
                            problems=[(1, check_header(None) or "")])
    layout = next((layout for layout in LAYOUTS if layout.matches(header[1])), None)
    if layout is None:
        raise UnknownExport(unknown_layout_line(header[1]))
    reading = layout.read(header[1], _counted(lines, on_row), zone)
    return _report(layout, encoding, reading)


def unknown_layout_line(header: list[str]) -> str:
    """One line: the first columns found, and the layouts known with a few of their columns."""
    found = ", ".join(clean(name) for name in header[:COLUMNS_SHOWN])
    found += ", …" if len(header) > COLUMNS_SHOWN else ""
    known = "; ".join(f"{layout.title}: {layout.columns_hint}" for layout in LAYOUTS)
    return f"unknown layout: the header has {found}; known layouts are {known}"


def _numbered_cells(text: str) -> Iterator[tuple[int, list[str]]]:
    """Non-blank CSV lines with their line numbers, without the `#` lines before the header (Alipay's)."""
    reader = csv.reader(io.StringIO(text))
    header_seen = False
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        if not header_seen and cells[0].lstrip().startswith("#"):
            continue
        header_seen = True
        yield reader.line_num, cells


def _counted(lines: Iterator[tuple[int, list[str]]], on_row: Callable[[], object] | None) -> NumberedCells:
    for numbered in lines:
        if on_row is not None:
            on_row()
        yield numbered


def _report(layout: ExportLayout, encoding: str, reading: LayoutReading) -> ExportReport:
    """The charges once each (a repeated id is a problem), with the file's refunds applied to them."""
    report = ExportReport(layout.name, layout.title, encoding, refunds=reading.refunds,
                          problems=list(reading.problems), unfinished_refunds=reading.unfinished_refunds)
    first_lines: dict[str, int] = {}
    for line, charge in reading.charges:
        first = first_lines.setdefault(charge["transaction_id"], line)
        if first != line:
            report.problems.append((line, f"transaction {charge['transaction_id']} repeats line {first}"))
            continue
        report.rows.append(charge)
    apply_refunds_in_file(report)
    report.problems.sort()
    return report


def _read_zipped(data: bytes, zone: ZoneInfo, on_row: Callable[[], object] | None) -> ExportReport:
    """A zipped export (Alipay's csv.zip): the largest member that is an export I know."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = sorted((m for m in archive.infolist() if not m.is_dir()), key=lambda m: -m.file_size)
            if not members or len(members) > MAX_ZIP_MEMBERS:
                raise UnknownExport(f"the zip holds {len(members)} files; expected an export and its summary")
            if sum(m.file_size for m in members) > MAX_UNZIPPED_BYTES:
                raise UnknownExport("the zip unpacks to more than 512 MB; unzip it and import the CSV")
            contents = [archive.read(member) for member in members]  # reads stop at each declared size
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, EOFError, OSError) as error:
        raise UnknownExport(f"the zip cannot be opened ({error}); unzip it and import the CSV") from None
    refusals: list[str] = []
    for content in contents:
        if content.startswith(ZIP_MAGIC):
            continue
        try:
            return read_export(content, zone, on_row=on_row)
        except UnknownExport as error:
            refusals.append(str(error))
    raise UnknownExport(f"the zip holds no export I know ({refusals[0] if refusals else 'only zips'})")
