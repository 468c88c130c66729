"""The drop folder: civil-affairs files left for the scheduler to import.

County offices (or a file transfer) put files into the folder named by
``FANGFAN_CIVIL_AFFAIRS_DIR``. The name says what a file is:

- ``<county code>-<YYYY-MM>.csv``, e.g. ``371321000000-2026-11.csv``: the
  monthly list, imported into department alerts;
- ``<county code>-<YYYY>Q<n>.csv``, e.g. ``371321000000-2026Q4.csv``: the
  quarter's recipient list, cross-checked with the monitored households.

Each file is taken once: its content hash is remembered with the import or the
report, so the nightly run can sweep the whole folder every time. A refused
file is logged (in English, with the reason) and left for a corrected copy.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from sqlalchemy.orm import sessionmaker

from .alerts import import_monthly, was_imported
from .cross_check import cross_check, was_cross_checked
from .lists import ListRefused

log = logging.getLogger("fangfan.civil_affairs")

ENVIRONMENT = "FANGFAN_CIVIL_AFFAIRS_DIR"
ACTOR = "scheduler"

_MONTHLY = re.compile(r"^(\d{12})-(\d{4}-\d{2})\.csv$", re.IGNORECASE)
_QUARTERLY = re.compile(r"^(\d{12})-(\d{4}Q[1-4])\.csv$", re.IGNORECASE)


def sweep_drop_folder(sessions: sessionmaker, folder: str | None = None) -> dict:
    """Import or cross-check every file not yet taken; counts by outcome."""
    folder = folder or os.environ.get(ENVIRONMENT)
    counts = {"imported": 0, "cross_checked": 0, "known": 0, "refused": 0}
    if not folder:
        log.info("%s is not set; no civil-affairs files to take", ENVIRONMENT)
        return counts
    if not Path(folder).is_dir():
        log.error("civil-affairs drop folder %s does not exist", folder)
        return counts

    for path in sorted(Path(folder).iterdir()):
        monthly, quarterly = _MONTHLY.match(path.name), _QUARTERLY.match(path.name)
        if not path.is_file() or not (monthly or quarterly):
            continue
        try:
            outcome = _take(sessions, path, monthly, quarterly)
        except ListRefused as error:
            log.warning("civil-affairs file %s refused: %s", path.name, error)
            outcome = "refused"
        counts[outcome] += 1
    return counts


def _take(sessions: sessionmaker, path: Path, monthly, quarterly) -> str:
    content = path.read_bytes()
    county_code = (monthly or quarterly).group(1)
    with sessions() as session:
        if monthly and was_imported(session, county_code, content):
            return "known"
        if quarterly and was_cross_checked(session, county_code, content):
            return "known"

    if monthly:
        import_monthly(
            sessions,
            content,
            path.name,
            monthly.group(2),
            county_code,
            ACTOR,
            "scheduler",
        )
        return "imported"
    cross_check(
        sessions,
        content,
        path.name,
        quarterly.group(2).upper(),
        county_code,
        ACTOR,
        "scheduler",
    )
    return "cross_checked"
