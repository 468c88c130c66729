"""Database connections: SQLite by default, PostgreSQL when DATABASE_URL says so.

SQLite runs in WAL mode. Commands start their transactions with ``BEGIN
IMMEDIATE``: a transaction that reads and then writes would otherwise fail with
"database is locked" whenever another writer committed in between, instead of
waiting. Pages read through a second engine whose transactions begin deferred,
so a page never holds the write lock and never makes a command wait.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine as DbEngine
from sqlalchemy.orm import sessionmaker

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = f"sqlite:///{ROOT / 'instance' / 'fangfan.sqlite'}"


def database_url() -> str:
    return os.environ.get("DATABASE_URL") or DEFAULT_URL


def create_db_engine(url: str | None = None, for_reads: bool = False) -> DbEngine:
    url = url or database_url()
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = create_engine(
            url, connect_args={"timeout": 30, "check_same_thread": False}
        )
        _configure_sqlite(db, "BEGIN" if for_reads else "BEGIN IMMEDIATE")
        return db
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def _configure_sqlite(db: DbEngine, begin: str) -> None:
    @event.listens_for(db, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(db, "begin")
    def on_begin(connection):
        connection.exec_driver_sql(begin)


def session_factory(db: DbEngine) -> sessionmaker:
    return sessionmaker(db, expire_on_commit=False)


def upgrade(url: str | None = None) -> None:
    """Create or upgrade the schema to the newest Alembic revision of every branch."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["url"] = url or database_url()
    command.upgrade(config, "heads")
