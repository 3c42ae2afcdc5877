"""Bytes of an exported file to text: UTF-8 (with or without a BOM) or GBK, as the platforms write them."""

ENCODINGS = ("utf-8-sig", "gb18030")  # GB18030 is a superset of GBK: every GBK file decodes the same


class UnreadableFile(ValueError):
    """Neither UTF-8 nor GBK: the message says so in one line."""


def decode_export(data: bytes) -> tuple[str, str]:
    """The text of the file and the encoding that read it; UnreadableFile if none did."""
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding), "gbk" if encoding == "gb18030" else "utf-8"
        except UnicodeDecodeError:
            continue
    raise UnreadableFile(
        "the file is neither UTF-8 nor GBK text (is it a spreadsheet or a zip? export as CSV)"
    )
