"""Reading and writing Excel files safely: templates with drop-downs and text columns, refusing files that are
not a readable ``.xlsx``, and cells neutralised so a spreadsheet never runs what a user typed."""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from flask_babel import gettext
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
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


def text_cell(ws: Any, value: Any) -> WriteOnlyCell:
    """A cell holding ``value`` as text (never a number or a formula)."""
    cell = WriteOnlyCell(ws, value="" if value is None else neutralise(str(value)))
    cell.data_type = "s"
    cell.number_format = "@"
    return cell


def value_cell(ws: Any, value: Any) -> WriteOnlyCell:
    if isinstance(value, str) or value is None:
        return text_cell(ws, value)
    cell = WriteOnlyCell(ws, value=value)
    if hasattr(value, "isoformat"):
        cell.number_format = "yyyy-mm-dd"
    return cell


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
        if col.text:
            example.number_format = "@"
            for row in range(2, TEMPLATE_ROWS + 2):
                ws.cell(row=row, column=i).number_format = "@"
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
        try:
            self.wb = load_workbook(path, read_only=True, data_only=False)
        except Exception:  # noqa: BLE001 - any unreadable workbook is one clear refusal
            raise ValidationFailed("文件格式不支持",
                                   {"file": "无法读取该 Excel 文件，请确认文件完好且为 .xlsx 格式"}) from None
        self.ws = self.wb.worksheets[0]
        self.kind = kind
        self.header_row, self.positions = self._header()

    def _header(self) -> tuple[int, list[int]]:
        wanted = [c.header for c in self.kind.columns]
        best: list[str] = []
        for row_no, row in enumerate(self.ws.iter_rows(max_row=HEADER_SEARCH, values_only=True), 1):
            cells = [str(v).strip() if v is not None else "" for v in row]
            if all(h in cells for h in wanted):
                return row_no, [cells.index(h) for h in wanted]
            if len(set(cells) & set(wanted)) > len(set(best) & set(wanted)):
                best = cells
        missing = [h for h in wanted if h not in best]
        self.close()
        names = "、".join(missing[:8]) + ("等" if len(missing) > 8 else "")
        raise ValidationFailed("文件与模板不一致", {"file": gettext(
            "文件不是“%(kind)s”的导入模板，缺少列：%(names)s", kind=gettext(self.kind.label), names=names)})

    @property
    def estimated_rows(self) -> int:
        return max(0, (self.ws.max_row or 0) - self.header_row)

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        """(row number in the sheet, the cell values in template column order) for every non-empty data row."""
        for row_no, row in enumerate(self.ws.iter_rows(min_row=self.header_row + 1, values_only=True),
                                     self.header_row + 1):
            values = [row[i] if i < len(row) else None for i in self.positions]
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                continue
            yield row_no, values

    def close(self) -> None:
        self.wb.close()


class Writer:
    """A streamed workbook written row by row (text columns as text, every cell neutralised)."""

    def __init__(self, path: Path, columns: Iterable[Column], *, extra: list[str] | None = None,
                 sheet: str = "Sheet1") -> None:
        self.path = path
        self.wb = Workbook(write_only=True)
        self.ws = self.wb.create_sheet(sheet)
        self.cols = list(columns)
        self.ws.append([text_cell(self.ws, c.header) for c in self.cols] + [text_cell(self.ws, h) for h in extra or []])
        self.count = 0

    def append(self, values: list[Any]) -> None:
        ws, cols = self.ws, self.cols
        ws.append([text_cell(ws, v) if (i >= len(cols) or cols[i].text) else value_cell(ws, v)
                   for i, v in enumerate(values)])
        self.count += 1

    def save(self) -> int:
        self.wb.save(self.path)
        return self.count


def write_rows(path: Path, columns: Iterable[Column], rows: Iterable[list[Any]], *, extra: list[str] | None = None,
               sheet: str = "Sheet1") -> int:
    """A streamed workbook: the headers, then ``rows`` (text columns as text, every cell neutralised)."""
    writer = Writer(path, columns, extra=extra, sheet=sheet)
    for values in rows:
        writer.append(values)
    return writer.save()
