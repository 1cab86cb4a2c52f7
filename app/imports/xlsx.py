"""Reading and writing Excel files safely: templates with drop-downs and text columns, refusing files that are
not a readable ``.xlsx``, and cells neutralised so a spreadsheet never runs what a user typed."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from flask_babel import gettext
from lxml import etree
from openpyxl import Workbook
from openpyxl.reader.excel import ExcelReader
from openpyxl.styles import Font, PatternFill
from openpyxl.styles.stylesheet import apply_stylesheet
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import from_excel, from_ISO8601
from openpyxl.worksheet.datavalidation import DataValidation

from app.core.errors import ValidationFailed

from .registry import Column, ImportKind

#: A cell starting with one of these is a formula to a spreadsheet (or to a CSV reader): written with a
#: leading apostrophe, as text.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
REASON = "失败原因"
#: Rows searched for the header (a title row, maybe merged, may sit above it).
HEADER_SEARCH = 5
#: The first bytes of an OLE2 compound file: the old .xls format.
_OLE2 = bytes.fromhex("d0cf11e0a1b11ae1")
TEMPLATE_ROWS = 5000


def neutralise(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def template(kind: ImportKind, out: IO[bytes] | Path) -> None:
    """The template of ``kind``: bold headers, one example row, drop-downs for coded columns, ID and code
    columns formatted as text."""
    wb = Workbook()
    ws = wb.active
    ws.title = kind.sheet
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    for i, col in enumerate(kind.columns, 1):
        cell = ws.cell(row=1, column=i, value=col.header)
        cell.font, cell.fill = bold, fill
        letter = get_column_letter(i)
        ws.column_dimensions[letter].width = max(12, len(col.header) * 2 + 4)
        example = ws.cell(row=2, column=i, value=col.example)
        if col.text:  # the whole column as text (a column style: no empty formatted rows that look like data)
            example.number_format = "@"
            ws.column_dimensions[letter].number_format = "@"
        if col.choices:
            dv = DataValidation(type="list", formula1='"' + ",".join(col.choices) + '"', allow_blank=True,
                                showErrorMessage=True, error=f"请从下拉列表中选择{col.header}")
            dv.add(f"{letter}2:{letter}{TEMPLATE_ROWS + 1}")
            ws.add_data_validation(dv)
    ws.freeze_panes = "A2"
    notes = wb.create_sheet("填写说明")
    notes.append(["第2行为示例，导入时会跳过与示例完全相同的行；可直接覆盖填写。"])
    notes.append(["带下拉框的列请从列表中选择；公民身份号码等列已设为文本格式，请勿改为数字。"])
    wb.save(out)


def check_file(path: Path, name: str) -> None:
    """Refuse (422) what is not a readable .xlsx, saying why."""
    with path.open("rb") as fh:
        head = fh.read(8)
    if head == _OLE2 or name.lower().endswith(".xls"):
        raise ValidationFailed("文件格式不支持", {"file": "不支持旧版 .xls 格式，请在 Excel 中另存为 .xlsx 后再导入"})
    if not name.lower().endswith(".xlsx"):
        raise ValidationFailed("文件格式不支持", {"file": "请上传 .xlsx 格式的 Excel 文件"})
    if not zipfile.is_zipfile(path):
        raise ValidationFailed("文件格式不支持", {"file": "文件不是有效的 .xlsx 文件（可能已损坏或只是改了扩展名）"})
    try:
        with zipfile.ZipFile(path) as zf:
            if "xl/workbook.xml" not in zf.namelist():
                raise ValidationFailed("文件格式不支持", {"file": "文件不是有效的 .xlsx 文件（缺少工作簿）"})
    except zipfile.BadZipFile:
        raise ValidationFailed("文件格式不支持", {"file": "文件不是有效的 .xlsx 文件"}) from None


class Sheet:
    """The data rows of an uploaded file, read in streaming mode, with the header row located and checked."""

    def __init__(self, path: Path, kind: ImportKind) -> None:
        # openpyxl reads the workbook's parts (strings, styles, sheets); its read-only worksheet is not built,
        # since building it scans the whole sheet for its size when the file states none
        reader = None
        try:
            reader = ExcelReader(path, read_only=True, data_only=False, keep_links=False)
            reader.read_manifest()
            reader.read_strings()
            reader.read_workbook()
            apply_stylesheet(reader.archive, reader.wb)
            self.target = next(rel.target for _sheet, rel in reader.parser.find_sheets()
                               if rel.target in reader.valid_files and "chartsheet" not in rel.Type)
        except Exception:  # noqa: BLE001 - any unreadable workbook is one clear refusal
            if reader is not None:
                reader.archive.close()
            raise ValidationFailed("文件格式不支持",
                                   {"file": "无法读取该 Excel 文件，请确认文件完好且为 .xlsx 格式"}) from None
        self.archive = reader.archive
        wb = reader.wb
        self.strings, self.epoch = reader.shared_strings, wb.epoch
        self.date_styles, self.duration_styles = wb._date_formats, wb._timedelta_formats
        self.kind = kind
        self.header_row, self.positions = self._header()

    def _rows(self) -> Iterator[tuple[int, list[tuple[int, Any]]]]:
        return _sheet_rows(self.archive, self.target, self.strings, self.date_styles, self.duration_styles,
                           self.epoch)

    def _header(self) -> tuple[int, list[int]]:
        wanted = [c.header for c in self.kind.columns]
        best: list[str] = []
        rows = self._rows()
        try:
            for row_no, cells in rows:
                if row_no > HEADER_SEARCH:
                    break
                row = [""] * (max((c for c, _v in cells), default=-1) + 1)
                for col, value in cells:
                    row[col] = str(value).strip()
                if all(h in row for h in wanted):
                    return row_no, [row.index(h) for h in wanted]
                if len(set(row) & set(wanted)) > len(set(best) & set(wanted)):
                    best = row
        except etree.LxmlError:
            self.close()
            raise ValidationFailed("文件格式不支持",
                                   {"file": "无法读取该 Excel 文件，请确认文件完好且为 .xlsx 格式"}) from None
        finally:
            rows.close()
        missing = [h for h in wanted if h not in best]
        self.close()
        names = "、".join(missing[:8]) + ("等" if len(missing) > 8 else "")
        raise ValidationFailed("文件与模板不一致", {"file": gettext(
            "文件不是“%(kind)s”的导入模板，缺少列：%(names)s", kind=gettext(self.kind.label), names=names)})

    @property
    def estimated_rows(self) -> int:
        """The data rows the sheet says it has (its ``dimension``; 0 when it states none)."""
        with self.archive.open(self.target) as src:
            for _event, el in etree.iterparse(src, events=("start",), resolve_entities=False):
                if el.tag == _DIMENSION:
                    last = (el.get("ref") or "").rpartition(":")[2].lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
                    return max(0, int(last) - self.header_row) if last.isdigit() else 0
                if el.tag == _SHEET_DATA:
                    return 0
        return 0

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        """(row number in the sheet, the cell values in template column order) for every non-empty data row.

        One streaming pass over the sheet's XML with lxml, reading only what the import needs (openpyxl's own
        cell objects cost ~20x more per cell); values are what openpyxl's ``values_only`` would give: text,
        numbers, dates for date-formatted numbers, booleans, ``=...`` for formula cells."""
        wanted = {pos: i for i, pos in enumerate(self.positions)}
        width = len(self.positions)
        first = row_no = self.header_row + 1
        try:
            for row_no, cells in self._rows():
                if row_no < first:
                    continue
                values: list[Any] = [None] * width
                for col, value in cells:
                    i = wanted.get(col)
                    if i is not None:
                        values[i] = value
                if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                    continue
                yield row_no, values
        except etree.LxmlError:
            raise ValueError(f"文件内容已损坏，第{row_no}行之后无法读取") from None

    def close(self) -> None:
        self.archive.close()


_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_V, _F, _IS_T = f"{{{_NS}}}v", f"{{{_NS}}}f", f"{{{_NS}}}t"
_ROW, _C = f"{{{_NS}}}row", f"{{{_NS}}}c"
_DIMENSION, _SHEET_DATA = f"{{{_NS}}}dimension", f"{{{_NS}}}sheetData"


def _column_index(ref: str, cache: dict[str, int] = {}) -> int:  # noqa: B006 - a deliberate memo
    """0-based column of a cell reference such as ``AB12``."""
    letters = ref.rstrip("0123456789")
    index = cache.get(letters)
    if index is None:
        index = 0
        for ch in letters:
            index = index * 26 + ord(ch) - 64
        index = cache[letters] = index - 1
    return index


def _sheet_rows(archive: zipfile.ZipFile, target: str, strings: Any, date_styles: set[int],
                duration_styles: set[int], epoch: datetime) -> Iterator[tuple[int, list[tuple[int, Any]]]]:
    """(row number, [(0-based column, value)]) of every row of the worksheet ``target``, streamed."""
    row_counter = 0
    with archive.open(target) as src:
        # libxml2's limits stay on (no huge_tree) and entities are not expanded: an upload is untrusted XML
        for _event, row in etree.iterparse(src, events=("end",), tag=_ROW, resolve_entities=False):
            r = row.get("r")
            row_counter = int(r) if r else row_counter + 1
            cells: list[tuple[int, Any]] = []
            col = -1
            for c in row.iterchildren(_C):
                ref = c.get("r")
                col = _column_index(ref) if ref else col + 1
                kind = c.get("t", "n")
                formula = c.find(_F)
                if formula is not None:
                    value: Any = "=" + (formula.text or "")
                elif kind == "inlineStr":
                    value = "".join(t.text or "" for t in c.iter(_IS_T)) or None
                else:
                    value = c.findtext(_V) or None
                    if value is not None:
                        if kind == "s":
                            value = strings[int(value)]
                        elif kind == "n":
                            value = float(value) if any(ch in value for ch in ".eE") else int(value)
                            style = int(c.get("s", 0))
                            if style and style in date_styles:
                                try:
                                    value = from_excel(value, epoch, timedelta=style in duration_styles)
                                except (OverflowError, ValueError):
                                    value = "#VALUE!"
                        elif kind == "b":
                            value = value == "1"
                        elif kind == "d":
                            value = from_ISO8601(value)
                if value is not None:
                    cells.append((col, value))
            row.clear()
            while row.getprevious() is not None:
                del row.getparent()[0]
            yield row_counter, cells


def _escape(text: str) -> str:
    if _ILLEGAL.search(text):
        text = _ILLEGAL.sub("", text)
    if "&" in text or "<" in text or ">" in text:
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text


def _letters(n: int) -> list[str]:
    return [get_column_letter(i) for i in range(1, n + 1)]


#: Style 0 default, 1 text (``@``), 2 a date (yyyy-mm-dd), 3 a date and time, 4 a bold text header.
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    f'<styleSheet xmlns="{_NS}">'
    '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>'
    '<numFmt numFmtId="165" formatCode="yyyy-mm-dd hh:mm:ss"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>'
    '</fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="5"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="49" fontId="1" fillId="0" borderId="0" xfId="0" applyNumberFormat="1" applyFont="1"/>'
    '</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    '</styleSheet>')
_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>')
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>')
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" '
    'Target="styles.xml"/></Relationships>')
_EPOCH = datetime(1899, 12, 30)


class Writer:
    """A one-sheet workbook streamed row by row straight into its zip entry (openpyxl's write-only mode costs
    ~20x more per cell): text columns as text cells formatted ``@``, every text neutralised, numbers as
    numbers, dates as dates."""

    def __init__(self, path: Path, columns: Iterable[Column], *, extra: list[str] | None = None,
                 sheet: str = "Sheet1") -> None:
        self.path = path
        self.cols = list(columns)
        self.text = [c.text for c in self.cols]
        headers = [c.header for c in self.cols] + list(extra or [])
        self.letters = _letters(len(headers) + 1)
        self.count = 0
        self.row = 1
        self.zip = zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1)
        self.zip.writestr("[Content_Types].xml", _CONTENT_TYPES)
        self.zip.writestr("_rels/.rels", _ROOT_RELS)
        self.zip.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        self.zip.writestr("xl/styles.xml", _STYLES)
        name = _escape(re.sub(r"[\\/*?:\[\]]", " ", sheet)[:31]).replace('"', "&quot;")
        self.zip.writestr("xl/workbook.xml", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f'<workbook xmlns="{_NS}" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            f'<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets></workbook>'))
        self.out = self.zip.open("xl/worksheets/sheet1.xml", "w", force_zip64=True)
        self.buffer: list[str] = [
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f'<worksheet xmlns="{_NS}"><sheetViews><sheetView workbookViewId="0">'
            '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/></sheetView></sheetViews>'
            '<sheetData>']
        self.buffer.append(self._row([(h, True) for h in headers], header=True))

    def _row(self, cells: list[tuple[Any, bool]], *, header: bool = False) -> str:
        n, letters = self.row, self.letters
        parts = [f'<row r="{n}">']
        for i, (value, text) in enumerate(cells):
            ref = f"{letters[i]}{n}"
            if value is None or value == "":
                continue
            if text or isinstance(value, str):
                value = _escape(str(neutralise(str(value))))
                style = "4" if header else "1"
                parts.append(f'<c r="{ref}" s="{style}" t="inlineStr"><is><t xml:space="preserve">{value}</t></is></c>')
            elif isinstance(value, bool):
                parts.append(f'<c r="{ref}" t="b"><v>{int(value)}</v></c>')
            elif isinstance(value, (int, float, Decimal)):
                parts.append(f'<c r="{ref}"><v>{value}</v></c>')
            elif isinstance(value, datetime):
                serial = (value.replace(tzinfo=None) - _EPOCH).total_seconds() / 86400
                parts.append(f'<c r="{ref}" s="3"><v>{serial}</v></c>')
            elif isinstance(value, date):
                parts.append(f'<c r="{ref}" s="2"><v>{(value - _EPOCH.date()).days}</v></c>')
            else:
                parts.append(f'<c r="{ref}" s="1" t="inlineStr"><is><t xml:space="preserve">'
                             f'{_escape(neutralise(str(value)))}</t></is></c>')
        parts.append("</row>")
        self.row += 1
        return "".join(parts)

    def append(self, values: list[Any]) -> None:
        text = self.text
        width = len(text)
        self.buffer.append(self._row([(v, i >= width or text[i]) for i, v in enumerate(values)]))
        self.count += 1
        if len(self.buffer) >= 500:
            self._flush()

    def _flush(self) -> None:
        self.out.write("".join(self.buffer).encode())
        self.buffer = []

    def save(self) -> int:
        self.buffer.append("</sheetData></worksheet>")
        self._flush()
        self.out.close()
        self.zip.close()
        return self.count

    def discard(self) -> None:
        """Give up the file (an attempt that stops half-way)."""
        try:
            self.out.close()
            self.zip.close()
        finally:
            self.path.unlink(missing_ok=True)


def write_rows(path: Path, columns: Iterable[Column], rows: Iterable[list[Any]], *, extra: list[str] | None = None,
               sheet: str = "Sheet1") -> int:
    """A streamed workbook: the headers, then ``rows`` (text columns as text, every cell neutralised)."""
    writer = Writer(path, columns, extra=extra, sheet=sheet)
    for values in rows:
        writer.append(values)
    return writer.save()
