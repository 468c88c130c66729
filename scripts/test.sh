#!/usr/bin/env bash
# The test command of the README: the whole suite on the embedded SQLite, then,
# where a PostgreSQL server answers, the database-facing tests again on it.
set -euo pipefail
cd "$(dirname "$0")/.."

pg_url=${FANGFAN_TEST_POSTGRES_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}

echo "== tests on SQLite"
.venv/bin/python -m pytest -q "$@"

if .venv/bin/python -m fangfan.dbcheck "$pg_url"; then
  echo "== tests on PostgreSQL ($pg_url)"
  FANGFAN_TEST_DATABASE_URL=$pg_url .venv/bin/python -m pytest -q -m "not browser" "$@"
else
  echo "== no PostgreSQL at $pg_url: PostgreSQL tests skipped"
fi
