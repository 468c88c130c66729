"""The civil-affairs recipient list: its file format, read and checked row by row.

County civil-affairs offices export the list from Excel, so a file may be UTF-8
(with or without a byte-order mark) or GB18030. A file that cannot be read as a
whole (wrong header, wrong encoding, no rows, too many rows) is refused whole;
otherwise each row is checked on its own and a bad row is reported with its
row number, field and a Chinese message, without stopping the others.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import asdict, dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import CommandError
from engine.models import Division
from fangfan.rules import id_number_problem, name_problem, within

#: The header, exactly, in this order.
HEADER = ("身份证号", "姓名", "村级区划代码", "救助类别", "起始年月")
ID_NUMBER, NAME, VILLAGE, TYPE, START_MONTH = HEADER

#: 救助类别 as written in the file → our code.
ASSISTANCE_TYPES = {"低保": "minimum_allowance", "特困": "extreme_hardship"}
#: Our code → Chinese, for pages.
TYPE_LABELS = {"minimum_allowance": "农村低保", "extreme_hardship": "特困供养"}

#: A county's monthly list is a few hundred rows; more than this is a wrong file.
MAX_ROWS = 20_000

#: IN lists are sent in chunks of this size, well under any driver's limit.
CHUNK = 500

_MONTH = re.compile(r"^(\d{4})[-/](\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")


class ListRefused(CommandError):
    """The whole file is refused; nothing of it is written."""


@dataclass(frozen=True)
class Recipient:
    """A valid row of the list."""

    row: int
    id_number: str
    name: str
    division_code: str
    assistance_type: str
    start_month: str


@dataclass(frozen=True)
class RowOutcome:
    """A row that did not become an alert: rejected (error) or skipped."""

    row: int
    id_number: str
    name: str
    #: 错误 (the row is wrong) or 跳过 (valid, but no alert is due).
    outcome: str
    field: str
    message: str

    def as_dict(self) -> dict:
        return asdict(self)


REJECTED, SKIPPED = "错误", "跳过"

#: Columns of the per-row report, with their Chinese headings for the CSV.
REPORT_COLUMNS = {
    "row": "行号",
    "id_number": "身份证号",
    "name": "姓名",
    "outcome": "处理结果",
    "field": "字段",
    "message": "说明",
}


#: A cell starting with one of these is a formula to Excel (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def to_csv(columns: dict[str, str], rows: list[dict]) -> bytes:
    """Rows as CSV under Chinese headings, with a BOM so Excel reads it right.

    Every CSV the project offers for download or writes for an official is
    made here, so that no cell from an uploaded file runs as a formula.
    """
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(spreadsheet_text(heading) for heading in columns.values())
    for row in rows:
        writer.writerow(spreadsheet_text(row.get(key)) for key in columns)
    return out.getvalue().encode("utf-8-sig")


def spreadsheet_text(value) -> str | int:
    """A cell Excel shows as written: text that would start a formula gets a
    leading single quote (OWASP's advice on CSV injection); numbers are ours."""
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def content_hash(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def parse_month(text: str) -> str | None:
    """``2026-11`` (or ``2026/11``, ``2026-1``) as ``YYYY-MM``; None if not a month."""
    match = _MONTH.match((text or "").strip())
    if not match:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    if not (2000 <= year <= 2100 and 1 <= month <= 12):
        return None
    return f"{year:04d}-{month:02d}"


def parse_quarter(text: str) -> str | None:
    """``2026Q4`` (any case) as written; None if not a quarter."""
    text = (text or "").strip().upper()
    match = _QUARTER.match(text)
    if not match or not 2000 <= int(match.group(1)) <= 2100:
        return None
    return text


def county_problem(session: Session, county_code: str) -> str | None:
    """Why ``county_code`` is not a county of the division table, or None."""
    if not re.fullmatch(r"\d{12}", county_code or ""):
        return "县级区划代码应为12位数字"
    division = session.get(Division, county_code)
    if division is None or division.level != 3:
        return f"{county_code} 不是县级区划代码"
    return None


def decode(content: bytes) -> str:
    """The file's text: UTF-8 (BOM or not), else GB18030, else refused."""
    if b"\x00" in content:
        raise _refused("file contains NUL bytes", "文件不是CSV文本文件（含二进制内容）")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return content.decode("gb18030")
    except UnicodeDecodeError:
        raise _refused(
            "file is neither UTF-8 nor GB18030",
            "文件编码无法识别：请另存为“CSV UTF-8（逗号分隔）”或GB18030编码的CSV文件",
        ) from None


def read_rows(content: bytes) -> list[tuple[int, list[str]]]:
    """(row number as Excel shows it, cells) of every non-blank data row.

    The header is row 1. Empty cells past the fifth column, which Excel adds
    to rows it considers wider, are dropped; blank rows are ignored.
    """
    text = decode(content)
    try:
        records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as error:
        raise _refused(f"file is not valid CSV: {error}", "文件不是有效的CSV文件")

    if not records:
        raise _refused("file is empty", "文件为空")
    header = tuple(_trimmed(records[0]))
    if header != HEADER:
        raise _refused(
            f"wrong header: {len(header)} columns",
            "表头不符：第1行应为“" + ",".join(HEADER) + "”（顺序一致）",
        )

    rows = [
        (number, _trimmed(record))
        for number, record in enumerate(records[1:], start=2)
        if any(cell.strip() for cell in record)
    ]
    if not rows:
        raise _refused("file has no data rows", "文件只有表头，没有数据行")
    if len(rows) > MAX_ROWS:
        raise _refused(
            f"file has {len(rows)} rows, more than {MAX_ROWS}",
            f"文件有{len(rows)}行数据，超过{MAX_ROWS}行上限，请按月、按县拆分后导入",
        )
    return rows


def check_rows(
    session: Session,
    rows: list[tuple[int, list[str]]],
    county_code: str,
    latest_month: str,
) -> tuple[list[Recipient], list[RowOutcome]]:
    """The valid recipients, and the rejected rows with every reason.

    A village must be a real village (level 5) inside ``county_code``; the
    start month may not lie after ``latest_month``. A person listed twice is
    kept at the first row and rejected at the others.
    """
    villages = _division_levels(
        session, {cells[2] for _, cells in rows if len(cells) > 2}
    )
    recipients, rejected = [], []
    first_row: dict[str, int] = {}

    for number, cells in rows:
        problems = _row_problems(cells, villages, county_code, latest_month)
        id_number = cells[0].strip().upper() if cells else ""
        name = cells[1].strip() if len(cells) > 1 else ""
        if not problems and id_number in first_row:
            problems = [
                (ID_NUMBER, f"与第{first_row[id_number]}行身份证号重复（文件内重复）")
            ]

        if problems:
            rejected += [
                RowOutcome(number, id_number, name, REJECTED, field, message)
                for field, message in problems
            ]
            continue
        first_row[id_number] = number
        recipients.append(
            Recipient(
                number,
                id_number,
                name,
                cells[2].strip(),
                ASSISTANCE_TYPES[cells[3].strip()],
                parse_month(cells[4]),
            )
        )
    return recipients, rejected


def _row_problems(
    cells: list[str], villages: dict[str, int], county_code: str, latest_month: str
) -> list[tuple[str, str]]:
    if len(cells) != len(HEADER):
        return [("整行", f"应有{len(HEADER)}列，实际{len(cells)}列")]
    id_number, name, village, kind, start = (cell.strip() for cell in cells)

    problems = []
    problem = id_number_problem(id_number.upper())
    if problem:
        problems.append((ID_NUMBER, problem))
    problem = name_problem(name)
    if problem:
        problems.append((NAME, problem))
    if village not in villages:
        problems.append((VILLAGE, f"区划代码“{village}”不存在"))
    elif villages[village] != 5:
        problems.append((VILLAGE, f"“{village}”不是村级区划代码"))
    elif not within(village, county_code):
        problems.append((VILLAGE, f"“{village}”不在本县（{county_code}）辖区内"))
    if kind not in ASSISTANCE_TYPES:
        problems.append((TYPE, f"救助类别“{kind}”无效，应为“低保”或“特困”"))
    month = parse_month(start)
    if month is None:
        problems.append((START_MONTH, f"起始年月“{start}”无效，应为YYYY-MM"))
    elif month > latest_month:
        problems.append((START_MONTH, f"起始年月{month}晚于名单月份{latest_month}"))
    return problems


def _division_levels(session: Session, codes: set[str]) -> dict[str, int]:
    """Level by code, for the codes that exist; read in chunks."""
    codes = sorted(
        code.strip() for code in codes if re.fullmatch(r"\s*\d{12}\s*", code)
    )
    found: dict[str, int] = {}
    for start in range(0, len(codes), CHUNK):
        found.update(
            session.execute(
                select(Division.code, Division.level).where(
                    Division.code.in_(codes[start : start + CHUNK])
                )
            ).all()
        )
    return found


def _trimmed(record: list[str]) -> list[str]:
    """The cells, stripped, without empty ones past the header's width."""
    cells = [cell.strip() for cell in record]
    while len(cells) > len(HEADER) and not cells[-1]:
        cells.pop()
    return cells


def _refused(message: str, message_zh: str) -> ListRefused:
    return ListRefused(message, f"文件未导入：{message_zh}")
