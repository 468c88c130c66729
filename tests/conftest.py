"""Fixtures: a fresh installation per test, on SQLite or on a real PostgreSQL.

A template installation (schema, 64,074 divisions, models, demo accounts and
lines) is built once per session; each test gets its own copy, so a test that
moves the clock or sweeps timers never touches another test's cases.
Set FANGFAN_TEST_DATABASE_URL to a PostgreSQL database to run on PostgreSQL.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import create_engine, text

from fangfan.cli import DEMO_LINES
from fangfan.demo import seed
from fangfan.demo_data import valid_id_number
from fangfan.service import Fangfan

POSTGRES_URL = os.environ.get("FANGFAN_TEST_DATABASE_URL")


def pytest_collection_modifyitems(config, items):
    if POSTGRES_URL:
        return
    skip = pytest.mark.skip(reason="FANGFAN_TEST_DATABASE_URL is not set")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


class _SqliteCopies:
    def __init__(self, tmp_path_factory):
        self.directory = tmp_path_factory.mktemp("fangfan")
        self.template = self.directory / "template.sqlite"
        template = Fangfan(f"sqlite:///{self.template}")
        template.init(simulated_clock=True, progress=False)
        seed(template, DEMO_LINES)
        template.close()

    def fresh(self) -> tuple[str, callable]:
        path = self.directory / f"{uuid.uuid4().hex}.sqlite"
        shutil.copyfile(self.template, path)
        return f"sqlite:///{path}", lambda: path.unlink(missing_ok=True)


class _PostgresCopies:
    """CREATE DATABASE … TEMPLATE: a full copy in a fraction of a second."""

    #: One template per test run, so runs side by side on one server never meet.
    TEMPLATE = f"fangfan_test_template_{os.getpid()}"

    def __init__(self, url: str):
        self.url = url
        self.admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {self.TEMPLATE}"))
            connection.execute(text(f"CREATE DATABASE {self.TEMPLATE}"))
        template = Fangfan(self._url_of(self.TEMPLATE))
        template.init(simulated_clock=True, progress=False)
        seed(template, DEMO_LINES)
        template.close()

    def _url_of(self, name: str) -> str:
        return re.sub(r"/[^/?]+(\?|$)", f"/{name}\\1", self.url, count=1)

    def fresh(self) -> tuple[str, callable]:
        name = f"fangfan_test_{uuid.uuid4().hex[:12]}"
        with self.admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name} TEMPLATE {self.TEMPLATE}"))

        def drop():
            with self.admin.connect() as connection:
                connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))

        return self._url_of(name), drop


@pytest.fixture(scope="session")
def installations(tmp_path_factory):
    if POSTGRES_URL:
        copies = _PostgresCopies(POSTGRES_URL)
        yield copies
        with copies.admin.connect() as connection:
            connection.execute(
                text(f"DROP DATABASE IF EXISTS {copies.TEMPLATE} WITH (FORCE)")
            )
    else:
        yield _SqliteCopies(tmp_path_factory)


@pytest.fixture
def fangfan(installations):
    url, drop = installations.fresh()
    installation = Fangfan(url)
    yield installation
    installation.close()
    drop()


_serials = itertools.count(100)


@pytest.fixture
def new_id_number():
    """Made-up resident IDs with valid check digits, unique within the session."""

    def make() -> str:
        serial = next(_serials)
        birth = date(1940, 1, 1) + timedelta(days=serial * 7)
        return valid_id_number("371322", birth, f"{serial % 1000:03d}")

    return make


@pytest.fixture
def app(fangfan):
    from web import create_app

    return create_app(fangfan, secret_key="test", testing=True)


class Desks(dict):
    """Officials logged in on first use: ``desks["town"]``."""

    def __init__(self, app):
        super().__init__()
        self.app = app

    def __missing__(self, username: str):
        from .desk import Desk

        desk = self[username] = Desk(self.app, username)
        return desk


@pytest.fixture
def desks(app):
    return Desks(app)
