"""The sandbox's error answers: HTTP status, title and details per code, in the shape Meta's
OpenAPI description gives `GraphAPIError` (`message`, `type`, `code`, `error_subcode`,
`fbtrace_id`) plus the `error_data.details` the WhatsApp error reference documents."""

from __future__ import annotations

import dataclasses
import secrets
from typing import Any

ERRORS: dict[int, tuple[int, str, str]] = {
    0: (401, "AuthException", "We were unable to authenticate the app user."),
    1: (400, "API Unknown", "Invalid request or possible server error."),
    2: (503, "API Service", "Temporary due to downtime or due to being overloaded."),
    4: (400, "API Too Many Calls", "The app has reached its API call rate limit."),
    10: (403, "API Permission Denied", "Permission is either not granted or has been removed."),
    100: (400, "Invalid parameter", "Invalid parameter."),
    104: (401, "An access token is required to request this resource", ""),
    190: (401, "Access token has expired", "Error validating access token."),
    200: (403, "API Permission", "Permission is either not granted or has been removed."),
    368: (403, "Temporarily blocked for policies violations",
          "The WhatsApp Business Account is restricted for violating a platform policy."),
    80007: (400, "Rate limit issues", "The WhatsApp Business Account has reached its rate "
            "limit."),
    130429: (400, "Rate limit hit", "Message failed to send because there were too many "
             "messages sent from this phone number in a short period of time"),
    130472: (400, "User's number is part of an experiment", "Failed to send message because "
             "this user's phone number is part of an experiment"),
    130497: (403, "Business account is restricted from messaging users in this country",
             "The business is restricted from messaging users in this country."),
    131000: (500, "Something went wrong", "Message failed to send due to an unknown error."),
    131008: (400, "Required parameter is missing", "The request is missing a required "
             "parameter."),
    131009: (400, "Parameter value is not valid", "One or more parameter values are invalid."),
    131016: (503, "Service unavailable", "A service is temporarily unavailable."),
    131021: (400, "Recipient cannot be sender", "Sender and recipient phone number is the same."),
    131026: (400, "Message Undeliverable", "Unable to deliver message."),
    131030: (400, "Recipient phone number not in allowed list", "Add recipient phone number to "
             "recipient list and try again."),
    131031: (400, "Account has been locked", "The WhatsApp Business Account is locked."),
    131042: (400, "Business eligibility payment issue", "There was an error related to your "
             "payment method."),
    131047: (400, "Re-engagement message", "Message failed to send because more than 24 hours "
             "have passed since the customer last replied to this number."),
    131048: (400, "Spam rate limit hit", "Message failed to send because there are "
             "restrictions on how many messages can be sent from this phone number."),
    131049: (400, "This message was not delivered to maintain healthy ecosystem engagement.",
             "In order to maintain a healthy ecosystem engagement, the message failed to be "
             "delivered."),
    131051: (400, "Unsupported message type", "Message type is not currently supported."),
    131056: (400, "(Business Account, Consumer Account) pair rate limit hit", "Message failed "
             "to send because there were too many messages sent from this phone number to the "
             "same phone number in a short period of time."),
    131057: (400, "Account in maintenance mode", "Business Account is in maintenance mode."),
    132000: (400, "Number of parameters does not match the expected number of params",
             "The number of variable parameter values included in the request did not match "
             "the number of variable parameters defined in the template."),
    132001: (404, "Template name does not exist in the translation",
             "The template does not exist in the specified language or the template has not "
             "been approved."),
    132005: (400, "Translated text too long", "Translated text is too long."),
    132007: (400, "Template Format Character Policy Violated", "Template content violates a "
             "WhatsApp policy."),
    132012: (400, "Template Parameter Format Mismatch", "Variable parameter values formatted "
             "incorrectly."),
    132015: (400, "Template is Paused", "Template is paused due to low quality so it cannot "
             "be sent in a template message."),
    132016: (400, "Template is Disabled", "Template has been paused too many times due to low "
             "quality and is now permanently disabled."),
    133010: (400, "Phone number Not Registered", "The phone number is not registered on the "
             "WhatsApp Business Platform."),
}
"""Every code the kit's error table knows, so any of them can be injected for real."""


@dataclasses.dataclass(frozen=True, slots=True)
class ApiFailure(Exception):
    """An error answer: code, optional details, HTTP status override, subcode."""

    code: int
    details: str | None = None
    status: int | None = None
    subcode: int | None = None
    title: str | None = None

    def http_status(self) -> int:
        return self.status or ERRORS.get(self.code, (400, "", ""))[0]

    def body(self) -> dict[str, Any]:
        _, title, details = ERRORS.get(self.code, (400, "Unknown error", ""))
        title = self.title or title
        error: dict[str, Any] = {"message": f"(#{self.code}) {title}", "type": "OAuthException",
                                 "code": self.code, "fbtrace_id": trace_id()}
        if self.code in (190, 104, 0):
            error["message"] = title
        else:
            error["error_data"] = {"messaging_product": "whatsapp",
                                   "details": self.details or details}
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        return {"error": error}


def trace_id() -> str:
    return "A" + secrets.token_urlsafe(16)[:22]
