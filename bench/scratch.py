"""A scratch PostgreSQL database for a benchmark: created, then dropped."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import create_engine, text


class Postgres:
    """A database of our own on the given server, dropped afterwards."""

    def __init__(self, url: str):
        self.admin = create_engine(url, isolation_level="AUTOCOMMIT")
        self.name = f"fangfan_bench_{uuid.uuid4().hex[:12]}"
        with self.admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {self.name}"))
        self.url = re.sub(r"/[^/?]+(\?|$)", f"/{self.name}\\1", url, count=1)

    def drop(self) -> None:
        with self.admin.connect() as connection:
            connection.execute(
                text(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
            )
        self.admin.dispose()
