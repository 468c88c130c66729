"""Shandong's administrative divisions: loading them, and naming one.

Every official, household and case belongs to a division, and jurisdiction is a
code prefix (see ``fangfan.rules.within``), so the table must hold the real
codes. They come from ``data/divisions/shandong-37.csv.gz`` (see PROVENANCE.md
there), about 64,000 rows, which a row-by-row ORM load would take minutes over;
hence the batched core inserts.
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session
from tqdm import tqdm

from engine.models import Division

DATA_FILE = Path(__file__).resolve().parent.parent / "data/divisions/shandong-37.csv.gz"

#: Rows per INSERT; large enough to be fast, small enough for any driver.
BATCH_SIZE = 5000


def read_divisions(path: Path = DATA_FILE) -> list[dict]:
    """The rows of the extract as dicts ready for ``insert(Division)``."""
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        return [
            {
                "code": row["code"],
                "name": row["name"],
                "level": int(row["level"]),
                "parent_code": row["parent_code"] or None,
            }
            for row in csv.DictReader(handle)
        ]


def _batches(rows: list[dict], size: int) -> Iterator[list[dict]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def load_divisions(
    session: Session, progress: bool = True, path: Path = DATA_FILE
) -> int:
    """Insert the divisions the table lacks; return how many were inserted.

    Running it again is safe: a table that already holds as many rows as the
    extract is left alone without reading its codes, and otherwise only the
    missing codes are inserted. Nothing is deleted or renamed, because users,
    households and cases refer to divisions by code. Parents sort before their
    children (codes are zero-padded), so a foreign key on ``parent_code`` would
    hold after every batch. The caller commits, so the load can share a
    transaction with whatever else sets up the database.
    """
    rows = read_divisions(path)
    present = session.scalar(select(func.count()).select_from(Division))
    if present == len(rows):
        return 0

    if present:
        existing = set(session.scalars(select(Division.code)))
        rows = [row for row in rows if row["code"] not in existing]

    with tqdm(
        total=len(rows), desc="divisions", unit="row", disable=not progress
    ) as bar:
        for batch in _batches(rows, BATCH_SIZE):
            session.execute(insert(Division), batch)
            bar.update(len(batch))
    return len(rows)


def division_path(session: Session, code: str) -> list[Division]:
    """The province down to this division, for breadcrumbs.

    For ``371321101200`` that is 山东省 / 临沂市 / 沂南县 / 岸堤镇 /
    岸堤村村民委员会. An unknown code gives an empty list. The walk follows
    ``parent_code`` and stops after five levels, so a corrupt cycle in the
    table cannot hang a page.
    """
    path: list[Division] = []
    current = session.get(Division, code)
    while current is not None and len(path) < 5:
        path.append(current)
        if not current.parent_code:
            break
        current = session.get(Division, current.parent_code)

    path.reverse()
    return path


def full_name(session: Session, code: str, separator: str = "") -> str:
    """The names from province down, joined, as written on forms and notices.

    ``371321000000`` gives 山东省临沂市沂南县. An unknown code gives the code
    itself, so a page that shows a stale code still shows something traceable.
    """
    path = division_path(session, code)
    if not path:
        return code
    return separator.join(division.name for division in path)
