"""Structured logs: one JSON line per log record, and one per job event, for log pipelines.

`conveyor worker --log-format json` (or `CONVEYOR_LOG_FORMAT=json`) calls `json_lines()` and
`log_events(app)`: every record the process logs becomes one JSON object on one line (`ts`,
`level`, `logger`, `message`, and the fields of a job event), and each attempt logs `started`
and then how it
ended - completed, retried, discarded, snoozed, cancelled or interrupted - with the job's id,
name, queue, attempt, duration and, for failures, the error's type and message:

    {"ts": "2026-11-30T21:02:03.120Z", "level": "info", "logger": "conveyor.jobs",
     "message": "job 7 send_receipt completed", "event": "completed", "job_id": 7,
     "name": "send_receipt", "queue": "mail", "attempt": 1, "max_attempts": 20,
     "duration_s": 0.0123, "outcome": "completed", "worker": "web-1:4242:9f2c", ...}

Secrets stay out: arguments are shown as the CLI and dashboard show them (values under
secret-looking keys masked) and every message and traceback goes through `redact.text`.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson

from conveyor import hooks, redact
from conveyor.app import Conveyor
from conveyor.worker import failure

log = logging.getLogger("conveyor.jobs")
FORMATS = ("text", "json")
FIELDS = "conveyor"
"""The `extra=` key under which a record carries its event's fields."""
_MESSAGE_LIMIT = 500
_LEVELS = {"completed": logging.INFO, "snoozed": logging.INFO, "started": logging.INFO,
           "retried": logging.WARNING, "interrupted": logging.WARNING,
           "cancelled": logging.WARNING, "discarded": logging.ERROR}


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line, secrets masked."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(), "logger": record.name,
            "message": redact.text(record.getMessage())}
        fields = getattr(record, FIELDS, None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["exc"] = redact.text(self.formatException(record.exc_info))
        return orjson.dumps(line, default=repr).decode()


def json_lines() -> None:
    """Every handler of the root logger writes JSON lines from now on."""
    formatter = JsonFormatter()
    for handler in logging.getLogger().handlers:
        handler.setFormatter(formatter)


def log_events(app: Conveyor) -> None:
    """Log a `started` record and an outcome record for each attempt of `app`'s workers."""
    if events not in app.hooks.attempt:
        app.hooks.attempt.append(events)


@contextlib.contextmanager
def events(attempt: hooks.Attempt) -> Iterator[None]:
    """An attempt hook: logs `started`, then the outcome with its duration."""
    began = time.monotonic()
    _emit("started", attempt)
    yield
    _emit(attempt.outcome_name or "ended", attempt, time.monotonic() - began)


def _emit(event: str, attempt: hooks.Attempt, duration: float | None = None) -> None:
    job = attempt.job
    fields: dict[str, Any] = {
        "event": event, "job_id": job.id, "name": job.name, "queue": job.queue,
        "attempt": job.attempt, "max_attempts": job.max_attempts, "worker": attempt.worker_id}
    if duration is None:
        fields["args"] = redact.value(list(job.args))
        fields["kwargs"] = redact.value(dict(job.kwargs))
        if job.batch_id is not None:
            fields["batch_id"] = job.batch_id
    else:
        fields["outcome"] = event
        fields["duration_s"] = round(duration, 6)
    if duration is not None and attempt.error is not None and event != "completed":
        fields["error"] = {"type": failure.type_of(attempt.error), "message": redact.text(
            failure.clipped(failure.message_of(attempt.error), _MESSAGE_LIMIT))}
    log.log(_LEVELS.get(event, logging.INFO), "job %s %s %s", job.id, job.name, event,
            extra={FIELDS: fields})
