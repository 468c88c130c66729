"""Exit 0 when the database at the given URL answers, 1 when it does not.

``scripts/test.sh`` uses it to run the PostgreSQL half of the suite only where a
server is there.
"""

import sys

from sqlalchemy import create_engine, text


def main(url: str) -> int:
    try:
        with create_engine(url, connect_args={"connect_timeout": 3}).connect() as db:
            db.execute(text("SELECT 1"))
    except Exception as error:  # any failure means "not reachable" here
        print(
            f"dbcheck: {type(error).__name__}: {error}".splitlines()[0], file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
