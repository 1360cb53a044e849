"""The one table that decides what a WhatsApp Cloud API error code does to a message.

Every code of the contract (`../shared/APIS.md` section 1.6) has exactly one row. Sending code
(`messages.sending`) and the status webhook (`messages.statuses`) both read it; nothing else
branches on codes. Meta's guidance is followed: decide by `error.code`, never by the HTTP
status or the deprecated subcode - except for a code missing from the table, where a 5xx is
retried and anything else is discarded.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from enum import StrEnum


class Action(StrEnum):
    RETRY = "retry"
    """Transient: try again after the message's backoff (1/5/15 min); uses a retry."""
    THROTTLE = "throttle"
    """The sending number must slow down: `conveyor.RateLimited` blocks the account's rate key
    for every worker for `wait` seconds; no retry is used."""
    HOLD = "hold"
    """This message (its recipient) waits `wait * growth**holds` seconds; others go on; no
    retry is used."""
    DISCARD = "discard"
    """Can never succeed as it is: the message fails with the reason, at once."""
    STOP = "stop"
    """The account cannot send at all: it is stopped (its jobs wait, using no attempt) until
    its token is rotated or it is resumed."""


@dataclasses.dataclass(frozen=True, slots=True)
class Rule:
    action: Action
    meaning: str
    wait: float = 0.0
    growth: float = 1.0


R, T, H, D, S = Action.RETRY, Action.THROTTLE, Action.HOLD, Action.DISCARD, Action.STOP

RULES: Mapping[int, Rule] = {
    130429: Rule(T, "rate limit hit: the number's throughput (messages/s) was exceeded", 2.0),
    131056: Rule(H, "pair rate limit: too many messages to this recipient", 1.0, 4.0),
    131048: Rule(T, "spam rate limit: too many blocks or reports; the number rests an hour",
                 3600.0),
    131049: Rule(D, "Meta chose not to deliver (per-user marketing limit); do not hot-retry"),
    131026: Rule(D, "message undeliverable (not on WhatsApp, old app, terms not accepted)"),
    131047: Rule(D, "more than 24 hours since the recipient last wrote: send a template"),
    131051: Rule(D, "unsupported message type"),
    131008: Rule(D, "a required parameter is missing"),
    131009: Rule(D, "a parameter value is not valid"),
    100: Rule(D, "invalid parameter (or an unknown phone number id)"),
    131021: Rule(D, "the recipient cannot be the sender"),
    131030: Rule(D, "the recipient is not in the test number's allowed list"),
    132000: Rule(D, "the number of template parameters does not match the template"),
    132001: Rule(D, "the template does not exist in that language"),
    132005: Rule(D, "the hydrated template text is too long"),
    132007: Rule(D, "the template text breaks the character policy"),
    132012: Rule(D, "a template parameter has the wrong format"),
    132015: Rule(H, "the template is paused for low quality; tried again in 3 hours", 10800.0),
    132016: Rule(D, "the template is disabled for low quality"),
    190: Rule(S, "the access token expired or is invalid: rotate it"),
    0: Rule(S, "authentication failed (AuthException): rotate the token"),
    104: Rule(S, "no access token was sent"),
    10: Rule(S, "permission denied: the token lacks whatsapp_business_messaging"),
    368: Rule(S, "the number is temporarily blocked for policy violations"),
    131031: Rule(S, "the business account is locked"),
    131042: Rule(S, "a payment (billing) problem on the business account"),
    130497: Rule(D, "the business may not message users in this country"),
    133010: Rule(S, "the phone number is not registered on the Cloud API"),
    131057: Rule(T, "the account is in maintenance (throughput upgrade)", 60.0),
    4: Rule(T, "application-level API call rate limit", 300.0),
    80007: Rule(T, "WhatsApp business account API call rate limit", 300.0),
    131000: Rule(R, "something went wrong at Meta"),
    1: Rule(R, "unknown error at Meta"),
    131016: Rule(R, "service temporarily unavailable"),
    2: Rule(R, "temporary downtime"),
    130472: Rule(D, "the recipient is part of a Meta experiment"),
}
"""Codes of APIS.md section 1.6 (plus 104, the Graph code for a missing token)."""

PERMISSIONS = Rule(S, "permission not granted to the token (200-299)")
UNKNOWN_SERVER = Rule(R, "unknown error code with a server error status")
UNKNOWN_CLIENT = Rule(D, "unknown error code")


def rule_for(code: int | None, http_status: int = 400) -> Rule:
    """The rule for an API error; `code` None when the body carried none (e.g. a bare 502)."""
    if code is not None:
        if code in RULES:
            return RULES[code]
        if 200 <= code <= 299:
            return PERMISSIONS
    return UNKNOWN_SERVER if http_status >= 500 or code is None else UNKNOWN_CLIENT


def hold_seconds(rule: Rule, holds_so_far: int) -> float:
    """How long a HOLD waits: 131056 waits 4**X seconds (X = holds so far), as Meta asks."""
    return rule.wait * rule.growth ** holds_so_far


def retryable_in_webhook(code: int) -> bool:
    """Whether a `failed` status callback with this code should be sent again."""
    return rule_for(code).action in (Action.RETRY, Action.THROTTLE, Action.HOLD)


HOPELESS = frozenset({131026, 131021, 130497, 132001, 132016, 131051, 130472})
"""Failures that sending again cannot fix (the number is not on WhatsApp, the template is
gone or disabled, ...): retrying a message that failed so is refused unless forced."""
