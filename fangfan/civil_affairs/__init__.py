"""Civil-affairs lists: monthly department alerts (Q8), quarterly cross-check (Q29).

``lists`` reads and checks the file; ``alerts`` turns the monthly list into
department alerts and screens them; ``cross_check`` writes the quarterly
report; ``drop_folder`` is what the scheduler takes from a folder.
"""

from .alerts import (
    IMPORTERS,
    SCREENERS,
    STATUS_LABELS,
    AlreadyScreened,
    ImportResult,
    import_monthly,
    record_no_risk,
    start_identification,
)
from .cross_check import cross_check
from .drop_folder import sweep_drop_folder
from .lists import HEADER, MAX_ROWS, REPORT_COLUMNS, TYPE_LABELS, ListRefused

__all__ = [
    "HEADER",
    "IMPORTERS",
    "MAX_ROWS",
    "REPORT_COLUMNS",
    "SCREENERS",
    "STATUS_LABELS",
    "TYPE_LABELS",
    "AlreadyScreened",
    "ImportResult",
    "ListRefused",
    "cross_check",
    "import_monthly",
    "record_no_risk",
    "start_identification",
    "sweep_drop_folder",
]
