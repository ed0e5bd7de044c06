"""Hostile inputs built in a few lines each (no shipped blobs): the cases of issue 12.

Each builder returns the bytes of one file. Tests (tests/test_hostile.py) and the fuzz benchmark
(benchmarks/fuzz.py) use them.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib

REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def xlsx(cells: dict[str, object] | None = None, percent: tuple[str, ...] = ()) -> bytes:
    """A workbook with `cells` ({"A1": value}); cells in `percent` get a 0.0% format."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    for ref, v in (cells or {"A1": "项目名称", "B1": "档案管理"}).items():
        ws[ref] = v
        if ref in percent:
            ws[ref].number_format = "0.0%"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def rezip(data: bytes, edit) -> bytes:
    """The same zip with every member passed through edit(name, bytes) -> bytes | None (None: dropped)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = edit(info.filename, src.read(info.filename))
            if body is not None:
                dst.writestr(info.filename, body)
    return out.getvalue()


def xlsx_far_corner() -> bytes:
    """Cells A1 and XFD1048576: a dense reader allocates 16,384 × 1,048,576 cells (calamine: 512 GiB)."""
    return xlsx({"A1": "项目名称", "XFD1048576": "x"})


def xlsx_far_corner_openpyxl() -> bytes:
    """The same on the openpyxl path: a formatted cell without a reference sends the workbook there."""
    data = xlsx({"A1": 0.5, "XFD1048576": "x"}, percent=("A1",))

    def edit(name, body):
        return body.replace(b'<c r="A1" ', b"<c ", 1) if name == "xl/worksheets/sheet1.xml" else body
    return rezip(data, edit)


def xlsx_shared_sheet(entries: int = 500, cells: int = 40_000) -> bytes:
    """`entries` sheet entries in workbook.xml all pointing at one worksheet part of ~1 MB."""
    data = xlsx({f"A{r}": f"项目{r}" for r in range(1, cells // 2)} | {f"B{r}": r for r in range(1, cells // 2)})

    def edit(name, body):
        if name == "xl/workbook.xml":
            sheets = "".join(f'<sheet xmlns:r="{REL}" name="S{k}" sheetId="{k}" r:id="rId1"/>'
                             for k in range(1, entries + 1))
            return re.sub(rb"<sheets>.*</sheets>", f"<sheets>{sheets}</sheets>".encode(), body, flags=re.S)
        return body
    return rezip(data, edit)


def docx_span(attr: str = "gridSpan", value: str = "1000000000") -> bytes:
    """A Word table whose first cell spans `value` grid columns (gridSpan) or whose first row skips
    `value` of them (gridBefore)."""
    import docx

    d = docx.Document()
    d.add_paragraph("某某项目支出绩效自评表")
    t = d.add_table(rows=2, cols=2)
    t.cell(0, 0).text, t.cell(0, 1).text = "项目名称", "档案管理"
    buf = io.BytesIO()
    d.save(buf)
    tag = (f'<w:tcPr><w:gridSpan w:val="{value}"/></w:tcPr>' if attr == "gridSpan"
           else f'<w:trPr><w:gridBefore w:val="{value}"/></w:trPr>')

    def edit(name, body):
        if name != "word/document.xml":
            return body
        if attr == "gridSpan":
            return re.sub(rb"(<w:tc>)(?:<w:tcPr>.*?</w:tcPr>)?", lambda m: m.group(1) + tag.encode(), body, count=1,
                          flags=re.S)
        return re.sub(rb"(<w:tr\b[^>]*>)", lambda m: m.group(1) + tag.encode(), body, count=1)
    return rezip(buf.getvalue(), edit)


def pdf(objects: list[bytes], root: int = 1) -> bytes:
    """A PDF of the given object bodies (object k + 1 is objects[k]) with a correct xref table."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for k, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % k + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, root, xref)
    return bytes(out)


def pdf_reference_loop() -> bytes:
    """Object 2 (the page tree) is `3 0 R` and object 3 is `2 0 R`: a resolver following them never stops."""
    return pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"3 0 R", b"2 0 R"])


def pdf_pages(n: int = 200_000) -> bytes:
    """`n` blank pages."""
    kids = b" ".join(b"%d 0 R" % (k + 3) for k in range(n))
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"
    return pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, n)]
               + [page] * n)


def pdf_inflating(chars: int = 3_000_000) -> bytes:
    """One page whose compressed content stream (a few KB) draws `chars` characters."""
    content = zlib.compress(b"BT /F1 1 Tf 0 0 Td (" + b"A" * chars + b") Tj ET", 9)
    return pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
                b"/Resources << /Font << /F1 5 0 R >> >> >>",
                b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(content) + content + b"\nendstream",
                b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"])


def long_digits(n: int = 50_000) -> bytes:
    """A form whose level cell is `n` digits (a quadratic search in split_level_weight)."""
    head = "项目名称\t档案管理\n主管部门\t某局\n绩效指标\t一级指标\t二级指标\t三级指标\n"
    return (head + "\t" + "1" * n + "\t数量指标\t人数\n").encode()


def long_spaces(n: int = 40_000) -> bytes:
    """A line of `n` spaces with a dash in it (a quadratic markdown-rule regex)."""
    return ("项目名称\t档案管理\n" + " " * n + "-x\n" + "|--" + " " * n + "x\n").encode()


def long_line(size: int = 10 * 2**20) -> bytes:
    """One line of `size` bytes of Chinese text and figures."""
    unit = "项目资金年度资金总额100.5万元 执行率95% "
    reps = size // len(unit.encode()) + 1
    return (unit * reps).encode()[:size].decode("utf-8", "ignore").encode()


def garbled_with_long_line(text: str, run: str, n: int = 200_000) -> bytes:
    """TEXT garbled as a wrong decoding garbles it (its UTF-8 read as GBK: no form recognised, so every line goes
    through the token engine), with a line of `n` characters of RUN repeated in its middle."""
    lines = text.splitlines()
    mid = len(lines) // 3
    doc = "\n".join([*lines[:mid], run * (n // len(run)), *lines[mid:]])
    return doc.encode("utf-8").decode("gbk", "replace").encode("utf-8")


def utf16_without_bom(text: str, enc: str = "utf-16-le") -> bytes:
    return text.encode(enc)


ODS_NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
          'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
          'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"')


def ods(rows: list[list[str]] | None = None, body: str | None = None) -> bytes:
    """An OpenDocument spreadsheet of `rows` of text cells (or of the raw table `body` XML)."""
    from xml.sax.saxutils import escape

    if body is None:
        body = "".join("<table:table-row>" + "".join(
            f'<table:table-cell office:value-type="string"><text:p>{escape(c)}</text:p></table:table-cell>'
            if c else "<table:table-cell/>" for c in r) + "</table:table-row>"
            for r in (rows or [["项目名称", "档案管理"]]))
    content = (f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ODS_NS} office:version="1.2">'
               f'<office:body><office:spreadsheet><table:table table:name="Sheet1">{body}</table:table>'
               "</office:spreadsheet></office:body></office:document-content>")
    manifest = ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
                'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
                '<manifest:file-entry manifest:full-path="/" '
                'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
                '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
                "</manifest:manifest>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", content)
        z.writestr("META-INF/manifest.xml", manifest)
    return out.getvalue()


def ods_repeated(rows: int = 1_048_576, cols: int = 16_384) -> bytes:
    """One cell with text repeated `cols` times across, in a row repeated `rows` times down."""
    return ods(body=f'<table:table-row table:number-rows-repeated="{rows}"><table:table-cell '
               f'table:number-columns-repeated="{cols}" office:value-type="string"><text:p>x</text:p>'
               "</table:table-cell></table:table-row>")
