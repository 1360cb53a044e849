"""Conveyor: background jobs for Python on SQLite and PostgreSQL.

The public API is what this module exports; everything else is internal.
"""

from conveyor.app import Conveyor, Settings
from conveyor.backends.base import JobFilter
from conveyor.clock import Clock, FrozenClock, SystemClock
from conveyor.context import JobContext, current_job
from conveyor.control import Cancel, RateLimited, Retry, Snooze
from conveyor.errors import (
    ConfigurationError,
    ConveyorError,
    InvalidArguments,
    InvalidUrl,
    JobNotFound,
    MalformedJob,
    PayloadTooLarge,
    StorageUnavailable,
    UnknownJob,
    Unserializable,
)
from conveyor.limits import Concurrency, Rate
from conveyor.model import Job, JobError, JobState
from conveyor.registry import JobType

__all__ = [
    "Cancel", "Clock", "Concurrency", "ConfigurationError", "Conveyor", "ConveyorError",
    "FrozenClock", "InvalidArguments", "InvalidUrl", "Job", "JobContext", "JobError", "JobFilter",
    "JobNotFound", "JobState", "JobType", "MalformedJob", "PayloadTooLarge", "Rate", "RateLimited",
    "Retry", "Settings", "Snooze", "StorageUnavailable", "SystemClock", "UnknownJob",
    "Unserializable", "current_job",
]
