"""The kit's own tables: numbered migrations on both engines, declarations that match them,
and the kit's jobs (the retry-failed-message job among them)."""

from __future__ import annotations

import sqlalchemy as sa

from conveyor import JobState
from conveyor_commerce import Commerce, MessageStatus, tables
from conveyor_commerce import migrate as kit_migrate
from conveyor_commerce.sandbox import SandboxServer
from conveyor_commerce.whatsapp.accounts import Account
from tests.commerce.conftest import drain


def test_migrations_match_the_declarations_and_run_once(kit: Commerce) -> None:
    kit.migrate()
    assert kit_migrate.migrate(kit.db) == []  # up to date: nothing applied twice
    inspector = sa.inspect(kit.db.engine)
    for table in tables.ALL:
        migrated = {column["name"]: column["nullable"]
                    for column in inspector.get_columns(table.name)}
        declared = {column.name: column.nullable for column in table.columns}
        assert set(migrated) == set(declared), table.name
        not_null = {name for name, nullable in declared.items() if not nullable}
        assert {name for name, nullable in migrated.items() if not nullable} >= not_null - {"id"}
    with kit.db.begin() as conn:
        versions = [row[0] for row in conn.execute(sa.text(
            "SELECT version FROM commerce_migrations ORDER BY version"))]
    assert versions == [m.version for m in kit_migrate.discover(kit.db.dialect)]


def test_the_database_refuses_what_the_model_forbids(kit: Commerce, account: Account) -> None:
    message = kit.messages.schedule("shop", "48600100200", "hi", offset="+1h")
    for bad in ({"status": "lost"}, {"max_retries": 9}, {"status": "sent"}):
        try:
            with kit.db.begin() as conn:
                conn.execute(sa.update(tables.messages)
                             .where(tables.messages.c.id == message.id).values(**bad))
        except sa.exc.IntegrityError:
            continue
        raise AssertionError(f"{bad} was accepted")
    assert kit.messages.get(message.id).status == MessageStatus.PENDING


def test_the_retry_failed_message_job(kit: Commerce, account: Account,
                                      sandbox: SandboxServer) -> None:
    sandbox.state.inject("error", code=131000, recipient="48600100200")
    sandbox.state.inject("error", code=132001, recipient="48600100201")
    flaky = kit.messages.schedule("shop", "48600100200", "hi", offset=0, max_retries=0)
    gone = kit.messages.schedule("shop", "48600100201", "hi", offset=0)
    drain(kit)
    assert {kit.messages.get(m.id).status for m in (flaky, gone)} == {MessageStatus.FAILED}
    again = kit.jobs.retry_failed.enqueue(flaky.id)
    refused = kit.jobs.retry_failed.enqueue(gone.id)
    drain(kit)
    assert kit.app.get(again.id).state == JobState.COMPLETED
    assert kit.messages.get(flaky.id).status == MessageStatus.SENT
    job = kit.app.get(refused.id)
    assert job.state == JobState.CANCELLED and "cannot succeed" in job.errors[-1].message
    assert kit.messages.get(gone.id).status == MessageStatus.FAILED
