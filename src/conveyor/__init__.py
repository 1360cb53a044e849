"""Conveyor: background jobs for Python on SQLite and PostgreSQL.

The public API is what this module exports; everything else is internal.
"""

from conveyor.app import Conveyor, Settings
from conveyor.backends.base import JobFilter
from conveyor.clock import Clock, FrozenClock, SystemClock
from conveyor.context import JobContext, current_job
from conveyor.control import Cancel, Retry, Snooze
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
from conveyor.model import Job, JobError, JobState
from conveyor.registry import JobType

__all__ = [
    "Cancel", "Clock", "ConfigurationError", "Conveyor", "ConveyorError", "FrozenClock",
    "InvalidArguments", "InvalidUrl", "Job", "JobContext", "JobError", "JobFilter",
    "JobNotFound", "JobState", "JobType", "MalformedJob", "PayloadTooLarge", "Retry",
    "Settings", "Snooze", "StorageUnavailable", "SystemClock", "UnknownJob", "Unserializable",
    "current_job",
]
