"""Which reader a file needs, judged by its bytes (names lie: a ".xlsx" saved from a CSV is text).

Also the checks every container format needs before it is opened: encrypted Office files (an
encrypted .xlsx/.docx is an OLE container, not a zip), and zip archives whose directory promises
more uncompressed data than a form file can hold (a zip bomb is refused before anything is inflated).
"""

from __future__ import annotations

import codecs
import io
import re
import zipfile

from perfdata.grid import Grid, ReadError

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
PDF_MAGIC = b"%PDF-"
# A workbook of thousands of forms inflates to tens of MB; a directory promising more is refused.
MAX_UNZIPPED = 512 * 1024 * 1024
MAX_RATIO = 200  # uncompressed / compressed size of one member; text XML compresses ~10-30x
SUFFIX_KIND = {".xlsx": "xlsx", ".xlsm": "xlsx", ".xls": "xls", ".docx": "docx", ".docm": "docx",
               ".pdf": "pdf", ".ods": "ods", ".xlsb": "xlsb", ".doc": "doc", ".html": "html", ".htm": "html",
               ".xhtml": "html", ".shtml": "html"}
# A page begins (after a BOM, whitespace, an XML declaration and comments such as a browser's
# "saved from url") with a doctype or one of these tags. Text that only mentions <p> later does not.
_HTML_START = re.compile(rb"<(?:!doctype\s+html|html|head|body|table|meta|title|base|link|style|script)[\s>/]",
                         re.I)
# a fragment opening with a block or inline tag is a page only if a table follows (a text line first
# keeps it text: the evidence of the checks re-reads a file by its sniffed format, never by its name)
_FRAGMENT_START = re.compile(rb"<(?:div|p|h[1-6]|center|font|span|form|b|strong|tbody|tr)[\s>/]", re.I)
_TABLE_TAG = re.compile(rb"<table[\s>/]", re.I)
_UTF16_32 = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF16_LE, "utf-16"),
             (codecs.BOM_UTF16_BE, "utf-16"))


def _looks_html(data: bytes) -> bool:
    """Whether the bytes begin like an HTML page (or a fragment with a table).

    >>> _looks_html(b"<!DOCTYPE html><html>"), _looks_html("\\ufeff <TABLE border=1>".encode())
    (True, True)
    >>> _looks_html("项目名称\\t<p>目标 1</p>".encode()), _looks_html(b"<p>note</p> plain text")
    (False, False)
    """
    window = data[:65536]
    for bom, enc in _UTF16_32:
        if window.startswith(bom):
            window = window.decode(enc, errors="ignore").encode("utf-8")
            break
    window = window.removeprefix(codecs.BOM_UTF8)
    at = _skip_lead(window[:4096])
    if at is None:
        return False
    if _HTML_START.match(window, at):
        return True
    return bool(_FRAGMENT_START.match(window, at)) and bool(_TABLE_TAG.search(window))


def _skip_lead(head: bytes) -> int | None:
    """Where the first tag after whitespace, an XML declaration and comments starts; None if none does."""
    at = 0
    while True:
        while at < len(head) and head[at] in b" \t\r\n\f":
            at += 1
        if head.startswith(b"<!--", at):
            end = head.find(b"-->", at + 4)
            if end < 0:
                return None
            at = end + 3
        elif head.startswith(b"<?", at):
            end = head.find(b">", at)
            if end < 0:
                return None
            at = end + 1
        else:
            return at if head.startswith(b"<", at) else None


_PDF_VERSION = re.compile(rb"%PDF-\d\.\d")


def _late_pdf_header(data: bytes) -> bool:
    """A PDF header after some bytes of junk (readers accept it within the first 1024 bytes), as opposed to a
    text that mentions "%PDF-": the file also ends like a PDF (%%EOF or startxref near its end).

    >>> _late_pdf_header(b"junk\\n%PDF-1.4\\n1 0 obj\\n... startxref\\n123\\n%%EOF\\n")
    True
    >>> _late_pdf_header("项目名称\\t说明 %PDF-1.4 的文件\\n".encode())
    False
    """
    at = data.find(PDF_MAGIC, 0, 1024)
    if at <= 0 or not _PDF_VERSION.match(data, at):
        return False
    tail = data[-2048:]
    return b"%%EOF" in tail or b"startxref" in tail


def sniff(data: bytes) -> str:
    """The format of the bytes: xlsx | docx | ods | zip | ole | pdf | html | text.

    >>> sniff(b"%PDF-1.7 ..."), sniff("项目名称,x".encode()), sniff(b"PK\\x03\\x04" + bytes(30))
    ('pdf', 'text', 'zip')
    >>> sniff(b"<!DOCTYPE html><html><body><table>"), sniff("项目名称\\t<p>目标1</p>".encode())
    ('html', 'text')
    """
    head = data[:8]
    if head.startswith(PDF_MAGIC) or _late_pdf_header(data):
        return "pdf"
    if head == OLE_MAGIC:
        return "ole"
    if head[:4] in ZIP_MAGIC:
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                names = set(z.namelist())
        except Exception:  # noqa: BLE001 - BadZipFile, NotImplementedError (zip version 15.0), struct errors
            return "zip"
        if "xl/workbook.xml" in names or "xl/workbook.bin" in names:
            return "xlsx" if "xl/workbook.xml" in names else "xlsb"
        if "word/document.xml" in names:
            return "docx"
        if "content.xml" in names and "mimetype" in names:
            return "ods"
        return "zip"
    if _looks_html(data):
        return "html"
    return "text"


def check_zip(data: bytes) -> None:
    """Refuse corrupt, truncated or bomb archives before any member is inflated."""
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
    except Exception as e:  # noqa: BLE001 - BadZipFile, NotImplementedError (an unknown zip version), …
        raise ReadError(f"corrupt or truncated file (not a readable zip container: {e})") from None
    with z:
        infos = z.infolist()
        total = sum(i.file_size for i in infos)
        if total > MAX_UNZIPPED:
            raise ReadError(f"refused: the archive would unpack to {total / 2**20:,.0f} MiB "
                            f"(limit {MAX_UNZIPPED // 2**20} MiB); possibly a zip bomb")
        for i in infos:
            if i.file_size > 1_000_000 and i.file_size > MAX_RATIO * max(i.compress_size, 1):
                raise ReadError(f"refused: member {i.filename} inflates {i.file_size // max(i.compress_size, 1):,}"
                                f"-fold ({i.file_size / 2**20:,.0f} MiB); possibly a zip bomb", location=i.filename)
        try:
            bad = z.testzip() if len(data) < 50 * 2**20 else None
        except Exception as e:  # noqa: BLE001 - zlib and zipfile errors of damaged members
            raise ReadError(f"corrupt or truncated file: a member cannot be inflated ({e})") from None
        if bad:
            raise ReadError(f"corrupt or truncated file: member {bad} fails its checksum", location=bad)


def ole_kind(data: bytes) -> str:
    """An OLE container is an encrypted OOXML file, a legacy .xls, a legacy .doc, or something else."""
    try:
        import olefile

        ole = olefile.OleFileIO(io.BytesIO(data))
    except Exception as e:  # noqa: BLE001 - any parse failure means a broken container
        raise ReadError(f"corrupt or truncated Office file (OLE container: {e})") from None
    with ole:
        streams = {"/".join(s) for s in ole.listdir()}
    if "EncryptionInfo" in streams or "EncryptedPackage" in streams:
        return "encrypted"
    if "Workbook" in streams or "Book" in streams:
        return "xls"
    if "WordDocument" in streams:
        return "doc"
    return "ole"


def encrypted(data: bytes) -> bool:
    """Whether msoffcrypto sees a password on this OLE file (also legacy .xls/.doc with a password)."""
    import msoffcrypto

    try:
        return bool(msoffcrypto.OfficeFile(io.BytesIO(data)).is_encrypted())
    except Exception:  # noqa: BLE001 - a file msoffcrypto cannot parse is left to the format reader
        return False


BINARY_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods", ".docx", ".docm", ".doc", ".pdf"}


def read_grid(data: bytes, name: str = "") -> tuple[Grid, list[tuple[str, str, int | None]]]:
    """Read any supported file into a Grid, choosing the reader by content; also returns problems
    found on the way (severity, message, line). Raises ReadError for files that cannot be read."""
    from perfdata.readers.text import read_text

    kind = sniff(data)
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if kind == "text":
        try:
            grid = read_text(data)
        except ReadError as e:
            if suffix in BINARY_SUFFIXES and data.strip():
                raise ReadError(f"corrupt file: named {suffix} but its bytes are neither that format nor text "
                                f"({e})") from None
            raise
        extra = list(grid.problems)
        if suffix in BINARY_SUFFIXES:
            extra.append(("warning", f"named {suffix} but the bytes are plain text (e.g. a CSV renamed): "
                          "read as text", None))
        return grid, extra
    if kind == "ole":
        if encrypted(data):
            raise ReadError("password-protected (encrypted) Office file: cannot be read without the password")
        kind = ole_kind(data)
        if kind == "encrypted":
            raise ReadError("password-protected (encrypted) Office file: cannot be read without the password")
        if kind == "doc":
            raise ReadError("legacy Word .doc file: not supported, save it as .docx")
        if kind != "xls":
            raise ReadError("an OLE container that is neither a workbook nor a Word document")
    if kind == "zip":
        check_zip(data)
        raise ReadError("a zip archive that is neither a workbook nor a Word document")
    if kind == "pdf":
        from perfdata.readers.pdf import read_pdf

        grid = read_pdf(data)
    elif kind == "html":
        from perfdata.readers.html import read_html

        grid = read_html(data)
    elif kind == "docx":
        from perfdata.readers.docx import read_docx

        grid = read_docx(data)
    else:
        from perfdata.readers.xlsx import read_xlsx

        grid = read_xlsx(data, kind)
    if SUFFIX_KIND.get(suffix, kind) != kind:
        grid.problems.append(("info", f"named {suffix} but holds a {kind} file: read as {kind}", None))
    return grid, list(grid.problems)
