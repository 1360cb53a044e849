"""Status callbacks the sandbox sends for each accepted message, as Meta does: `sent` then
`delivered` then `read` (or `failed` with a code), each one POST signed with
`X-Hub-Signature-256` (HMAC-SHA256 of the raw body with the app secret), in the payload shape
of the webhook reference (`entry[].changes[].value.statuses[]`). A callback that is not
answered 2xx is tried again a few times with backoff, as Meta retries."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import time
from typing import Any

import httpx
import orjson

from conveyor_commerce.sandbox.catalog import ERRORS
from conveyor_commerce.sandbox.state import Number, SentRecord, WebhookConfig

log = logging.getLogger("conveyor_commerce.sandbox.webhooks")
ATTEMPTS = 4


def status_payload(config: WebhookConfig, number: Number, record: SentRecord, status: str,
                   code: int | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"id": record.wamid, "status": status,
                            "timestamp": str(int(time.time())), "recipient_id": record.wa_id}
    if record.opaque:
        item["biz_opaque_callback_data"] = record.opaque
    if status in ("sent", "delivered"):
        item["conversation"] = {"id": secrets.token_hex(16),
                                "expiration_timestamp": str(int(time.time()) + 86400),
                                "origin": {"type": "utility"}}
        item["pricing"] = {"billable": True, "pricing_model": "CBP", "category": "utility"}
    if status == "failed" and code is not None:
        _, title, details = ERRORS.get(code, (400, "Unknown error", ""))
        item["errors"] = [{"code": code, "title": title, "message": title,
                           "error_data": {"details": details},
                           "href": "/documentation/business-messaging/whatsapp/support/"
                                   "error-codes"}]
    return {"object": "whatsapp_business_account", "entry": [{"id": config.waba_id, "changes": [
        {"value": {"messaging_product": "whatsapp",
                   "metadata": {"display_phone_number": number.display_number,
                                "phone_number_id": number.phone_number_id},
                   "statuses": [item]},
         "field": "messages"}]}]}


def sign(app_secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


async def deliver(http: httpx.AsyncClient, config: WebhookConfig, number: Number,
                  record: SentRecord, fail_code: int | None) -> None:
    """Send the record's status callbacks in order."""
    steps: list[tuple[str, int | None]]
    if fail_code is not None and fail_code == 131026:
        steps = [("failed", fail_code)]
    elif fail_code is not None:
        steps = [("sent", None), ("failed", fail_code)]
    else:
        steps = [("sent", None), ("delivered", None)]
        if config.read:
            steps.append(("read", None))
    for status, code in steps:
        await asyncio.sleep(config.delay)
        await post(http, config, status_payload(config, number, record, status, code))


async def post(http: httpx.AsyncClient, config: WebhookConfig, payload: dict[str, Any]) -> bool:
    if not config.url:
        return False
    body = orjson.dumps(payload)
    headers = {"Content-Type": "application/json",
               "X-Hub-Signature-256": sign(config.app_secret, body)}
    for attempt in range(ATTEMPTS):
        try:
            response = await http.post(config.url, content=body, headers=headers)
            if response.is_success:
                return True
            log.info("status callback answered %s", response.status_code)
        except httpx.HTTPError as exc:
            log.info("status callback failed: %s", type(exc).__name__)
        await asyncio.sleep(0.2 * 2 ** attempt)
    return False
