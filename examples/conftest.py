"""The examples' tests run on PostgreSQL as well as SQLite in the project's own test run: the
conveyor pytest plugin adds PostgreSQL when `CONVEYOR_TEST_PG` names a server, and this
defaults it to the server tests/conftest.py uses. (A project of yours sets it in CI.)"""

import os

os.environ.setdefault("CONVEYOR_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
