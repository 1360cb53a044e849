"""The kit's own tables: numbered migrations on both engines, declarations that match them,
and the kit's jobs (the retry-failed-message job among them)."""

from __future__ import annotations

import time

import sqlalchemy as sa

from conveyor import JobFilter, JobState
from conveyor.changes import CancelJobs, DeleteJobs
from conveyor_commerce import Commerce, MessageStatus, tables
from conveyor_commerce import migrate as kit_migrate
from conveyor_commerce.messages import store
from conveyor_commerce.sandbox import SandboxServer
from conveyor_commerce.whatsapp.accounts import Account
from tests.commerce.conftest import drain
from tests.conftest import raw


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


def _end_job_from_outside(url: str, job_id: int) -> None:
    """What a rescue out of tries does to a job whose worker was lost."""
    if url.startswith("sqlite"):
        raw(url, "UPDATE conveyor_jobs SET state = 'discarded', finalized_at = ? WHERE id = ?",
            (int(time.time() * 1_000_000), job_id))
    else:
        raw(url, "UPDATE conveyor_jobs SET state = 'discarded', finalized_at = now() "
                 "WHERE id = ?", (job_id,))


def test_the_sweep_settles_messages_whose_job_ended_from_outside(
        url: str, kit: Commerce, account: Account) -> None:
    lost = kit.messages.schedule("shop", "48600100200", "a", offset="+1h")
    with kit.db.begin() as conn:  # a worker marked it processing, then was lost
        store.move(conn, lost.id, MessageStatus.PROCESSING, kit.now())
    _end_job_from_outside(url, lost.job_id or 0)
    cancelled = kit.messages.schedule("shop", "48600100201", "b", offset="+1h")
    kit.app.admin.apply(CancelJobs(), JobFilter(ids=[cancelled.job_id or 0]), actor="ops")
    deleted = kit.messages.schedule("shop", "48600100202", "c", offset="+1h")
    kit.app.admin.apply(DeleteJobs(), JobFilter(ids=[deleted.job_id or 0]), actor="ops")
    healthy = kit.messages.schedule("shop", "48600100203", "d", offset="+1h")
    assert kit.messages.reconcile() == {"failed": 2, "cancelled": 1}
    after = {m.id: m for m in kit.messages.list()}
    assert after[lost.id].status == MessageStatus.FAILED
    assert "may have been sent" in (after[lost.id].error_title or "")
    assert after[cancelled.id].status == MessageStatus.CANCELLED
    assert "deleted" in (after[deleted.id].error_title or "")
    assert after[healthy.id].status == MessageStatus.PENDING
    assert kit.messages.reconcile() == {"failed": 0, "cancelled": 0}
    assert "conveyor_commerce.whatsapp.reconcile" in kit.app.schedules
