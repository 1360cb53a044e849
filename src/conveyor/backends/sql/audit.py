"""The audit trail, written once for every SQL engine (see `conveyor.backends.sql`):
recording operator actions that are not job changes (those `change` records itself), and
reading the trail back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from conveyor import views
from conveyor.backends import base
from conveyor.backends.sql import binding
from conveyor.backends.sql.driver import Driver, Statements

READS = {"audit_entry": {"id"}, "audit_jobs": set(),
         "audit_log": {"id", "at", "actor", "action", "filter", "count"},
         "audit_log_of_job": {"id", "at", "actor", "action", "filter", "count"}}
"""Statements this module runs, and the columns of their rows it relies on;
`tests/contract/test_conformance.py` holds every dialect to it."""


class Audit(Driver):
    """`Backend.audit` and `audit_log`."""

    async def audit(self, actor: str, action: str, target: Mapping[str, Any], count: int,
                    now: datetime, job_ids: Sequence[int] = ()) -> None:
        async def work(tx: Statements) -> None:
            entry = await tx.rows("audit_entry", {
                "now": now, "actor": actor, "action": action, "count": count,
                "filter_json": binding.describe_target(**target)})
            if job_ids:
                await tx.rows("audit_jobs", {"audit_id": entry[0]["id"], "ids": list(job_ids)})

        await self.transaction(work)

    async def audit_log(self, *, before_id: int | None, limit: int, job_id: int | None,
                        actor: str | None) -> list[views.AuditEntry]:
        rows = await self.statement(
            "audit_log" if job_id is None else "audit_log_of_job",
            {"before_id": base.MAX_ID if before_id is None else before_id, "limit": limit,
             "job_id": job_id, "actor": actor}, planned=True)
        return [views.AuditEntry(row["id"], self.moment(row["at"]), row["actor"],
                                 row["action"], _target(self.document(row["filter"])),
                                 row["count"]) for row in rows]


def _target(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {"value": value}
