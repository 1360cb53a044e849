"""The one table that decides what a PrestaShop answer does to a sync job.

PrestaShop core has no rate limits and few error codes (`../shared/APIS.md` section 2.8):
its 4xx answers are bad data or bad configuration and never succeed when sent again, its
5xx and the network are transient, and a 429 comes from the host or its firewall with a
`Retry-After`. Sync code asks `rule_for(status, code)` and nothing else branches on codes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from enum import StrEnum


class Action(StrEnum):
    RETRY = "retry"
    """Transient (5xx, timeouts, dropped connections): try again after the job's backoff,
    using an attempt."""
    THROTTLE = "throttle"
    """The shop's host says "too many requests": block the shop's rate key for every worker
    for `Retry-After` seconds (`conveyor.RateLimited`), using no attempt."""
    DISCARD = "discard"
    """Can never succeed as sent: the sync ends `error` with the shop's own message."""


@dataclasses.dataclass(frozen=True, slots=True)
class Rule:
    action: Action
    meaning: str


R, T, D = Action.RETRY, Action.THROTTLE, Action.DISCARD

CODES: Mapping[int, Rule] = {
    41: Rule(D, "a required field is missing"),
    46: Rule(R, "the shop could not save the object"),
    84: Rule(D, "a multilingual field is empty or not valid"),
    85: Rule(D, "a field is not valid"),
    86: Rule(D, "an association (category, parent) does not exist"),
    87: Rule(D, "the id does not exist"),
    89: Rule(D, "the id is given twice"),
    90: Rule(D, "the id is missing from the update"),
    91: Rule(D, "an id is forbidden when adding a resource"),
    92: Rule(D, "the id of the update does not exist"),
    93: Rule(D, "a field is not writable"),
    127: Rule(D, "the shop could not parse the XML"),
    134: Rule(D, "position_in_category is not valid"),
    135: Rule(D, "position_in_category is not valid"),
}
"""Webservice error codes (APIS.md 2.8); they win over the HTTP status."""

STATUSES: Mapping[int, Rule] = {
    400: Rule(D, "the shop refused the request"),
    401: Rule(D, "the API key is unknown or lacks the permission"),
    403: Rule(D, "the key may not use this resource"),
    404: Rule(D, "the resource or the webservice does not exist"),
    405: Rule(D, "the method is not allowed for the key"),
    413: Rule(D, "the body is too large for the shop"),
    429: Rule(T, "too many requests: the shop's host throttles us"),
    500: Rule(R, "the shop failed"),
    502: Rule(R, "bad gateway"),
    503: Rule(R, "the shop is unavailable (or its webservice disabled)"),
    504: Rule(R, "gateway timeout"),
}

NETWORK = Rule(R, "no answer from the shop (connection or timeout)")
UNKNOWN_SERVER = Rule(R, "a server error")
UNKNOWN_CLIENT = Rule(D, "a client error")


def rule_for(status: int, code: int | None = None) -> Rule:
    """The rule of an answer with HTTP `status` and, when its body had one, a Webservice
    error `code`. A 429 is a throttle whatever its body says."""
    if status == 429:
        return STATUSES[429]
    if code is not None and code in CODES:
        return CODES[code]
    if status in STATUSES:
        return STATUSES[status]
    return UNKNOWN_SERVER if status >= 500 else UNKNOWN_CLIENT
