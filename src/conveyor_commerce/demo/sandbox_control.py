"""Setting up the running sandboxes over their `/_sandbox/...` endpoints (each runs in a
process of its own): for WhatsApp, the numbers it accepts, how it treats given recipients and
where it sends status callbacks; for PrestaShop, the products it refuses and the errors it
answers. Also what each has received, for the smoke test."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx


class WhatsAppSandbox:
    def __init__(self, url: str) -> None:
        self.url = url

    def add_number(self, phone_number_id: str, token: str, *, throughput: int = 80) -> None:
        self._post("numbers", {"phone_number_id": phone_number_id, "token": token,
                               "throughput": throughput})

    def inject(self, kind: str, *, times: int = 1, code: int | None = None,
               recipient: str | None = None) -> None:
        """A fault for the next `times` sends (to `recipient` only, if given)."""
        self._post("faults", {"kind": kind, "times": times, "code": code,
                              "recipient": recipient})

    def close_window(self, recipients: Sequence[str]) -> None:
        """These recipients have not written within 24 h: plain text to them fails."""
        self._post("recipients", {"closed_window": list(recipients)})

    def send_statuses(self, url: str, app_secret: str, *, read: bool) -> None:
        """Signed status callbacks (sent, delivered, and read if `read`) go to `url`."""
        self._post("webhook", {"url": url, "app_secret": app_secret, "read": read})

    def sent(self) -> list[dict[str, Any]]:
        """Every send the sandbox accepted."""
        response = httpx.get(f"{self.url}/_sandbox/sent", timeout=120)
        response.raise_for_status()
        found: list[dict[str, Any]] = response.json()
        return found

    def _post(self, what: str, body: dict[str, Any]) -> None:
        _post(self.url, what, body)


class PrestaShopSandbox:
    """The fake PrestaShop Webservice's `/_sandbox/...` endpoints."""

    def __init__(self, url: str) -> None:
        self.url = url

    def reject(self, references: Sequence[str]) -> None:
        """Writes of these products are refused as the shop would (400, invalid price)."""
        _post(self.url, "reject", {"references": list(references)})

    def inject(self, status: int, *, times: int, resource: str | None = None) -> None:
        """The next `times` requests (to `resource`, if given) are answered `status`."""
        _post(self.url, "faults", {"status": status, "times": times, "resource": resource})

    def objects(self, resource: str) -> list[dict[str, Any]]:
        """What the shop holds."""
        response = httpx.get(f"{self.url}/_sandbox/objects/{resource}", timeout=30)
        response.raise_for_status()
        found: list[dict[str, Any]] = response.json()
        return found


def _post(url: str, what: str, body: dict[str, Any]) -> None:
    response = httpx.post(f"{url}/_sandbox/{what}", json=body, timeout=10)
    if response.status_code != 200:
        raise RuntimeError(f"the sandbox at {url} refused its {what} set-up: {response.text}")
