"""The project's own CSV layout (transaction_id,order_id,…), read by handlers/transaction_csv.py's rules."""

from zoneinfo import ZoneInfo

from handlers.exports.layout import ExportLayout, LayoutReading, NumberedCells, header_name
from handlers.transaction_csv import COLUMNS, check_header, read_row


def matches(header: list[str]) -> bool:
    """The own layout names its first column transaction_id."""
    return "transaction_id" in [header_name(name) for name in header]


def read(header: list[str], lines: NumberedCells, zone: ZoneInfo) -> LayoutReading:
    """Every line checked as today's importer checks it; times without an offset are read in `zone`."""
    reading = LayoutReading()
    names = [header_name(name) for name in header]
    if problem := check_header(names):
        reading.problems.append((1, problem))
        return reading
    for line, cells in lines:
        if len(cells) > len(names):
            reading.problems.append((line, "the row has more fields than the header"))
            continue
        row: dict[str | None, str] = dict(zip(names, cells, strict=False))
        try:
            reading.charges.append((line, read_row(row, zone)))
        except ValueError as error:
            reading.problems.append((line, str(error)))
    return reading


LAYOUT = ExportLayout(
    name="own", title="Refund Assistant CSV", columns_hint=",".join(COLUMNS), matches=matches, read=read,
)
