"""What the sandbox knows and remembers: sending numbers and their tokens, approved templates,
recipients with special fates, injected faults, and the log of every send it accepted.

Shared between the server's event loop and the test (or CLI) thread that configures it, so
every method takes the lock; reads return copies.
"""

from __future__ import annotations

import base64
import collections
import dataclasses
import itertools
import secrets
import threading
import time
from collections.abc import Iterable
from typing import Any


@dataclasses.dataclass(slots=True)
class Number:
    phone_number_id: str
    token: str
    display_number: str = "15550783881"
    throughput: int = 80
    token_expired: bool = False
    recent: collections.deque[float] = dataclasses.field(default_factory=collections.deque)
    """Monotonic times of the sends accepted in the last second (throughput window)."""


@dataclasses.dataclass(frozen=True, slots=True)
class TemplateSpec:
    """An approved template: how many parameters each component takes."""

    name: str
    language: str
    header: int = 0
    body: int = 0
    buttons: tuple[tuple[str, int], ...] = ()
    """(sub_type, parameter count) per button index."""
    status: str = "APPROVED"
    """APPROVED, PAUSED (132015) or DISABLED (132016)."""
    text: str = ""
    """Body text with {{1}}... placeholders; a hydrated body over 1,024 characters is 132005."""


@dataclasses.dataclass(slots=True)
class Fault:
    """An injected misbehaviour for the next `times` matching sends.

    kind: "error" (answer `code`), "bare5xx" (a 502 without a JSON body), "timeout" (hold the
    request `delay` s without processing it), "timeout_after_accept" (accept it, then hold
    the answer `delay` s), "fail_webhook" (accept it; its status callbacks end `failed` with
    `code`)."""

    kind: str
    times: int = 1
    code: int | None = None
    delay: float = 0.0
    number: str | None = None
    recipient: str | None = None

    def matches(self, number: str, recipient: str) -> bool:
        return self.times > 0 and self.number in (None, number) \
            and self.recipient in (None, recipient)


@dataclasses.dataclass(frozen=True, slots=True)
class SentRecord:
    """A send the sandbox accepted (answered 200, or accepted then timed out)."""

    wamid: str
    phone_number_id: str
    to: str
    wa_id: str
    type: str
    at: float
    """Wall-clock time of acceptance (time.time())."""
    opaque: str | None
    body: dict[str, Any]


@dataclasses.dataclass(slots=True)
class WebhookConfig:
    url: str | None = None
    app_secret: str = ""
    waba_id: str = "102290129340398"
    read: bool = True
    delay: float = 0.05
    """Seconds between one status callback and the next of the same message."""


KINDS = ("error", "bare5xx", "timeout", "timeout_after_accept", "fail_webhook")


class SandboxState:
    """Numbers, templates, recipients, faults and the send log of one sandbox."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.numbers: dict[str, Number] = {}
        self.templates: dict[tuple[str, str], TemplateSpec] = {}
        self.undeliverable: set[str] = set()
        self.closed_window: set[str] = set()
        self.wa_ids: dict[str, str] = {}
        self.faults: list[Fault] = []
        self.sent: list[SentRecord] = []
        self.refused: collections.Counter[int] = collections.Counter()
        self.webhook = WebhookConfig()
        self._ids = itertools.count(1)

    # -- configuration ------------------------------------------------------------------------

    def add_number(self, phone_number_id: str, token: str, *, throughput: int = 80,
                   display_number: str = "15550783881") -> None:
        with self.lock:
            self.numbers[phone_number_id] = Number(phone_number_id, token, display_number,
                                                   throughput)

    def set_token(self, phone_number_id: str, token: str) -> None:
        """A rotated token: the number accepts only this one from now on."""
        with self.lock:
            number = self.numbers[phone_number_id]
            number.token, number.token_expired = token, False

    def expire_token(self, phone_number_id: str) -> None:
        """The number's current token expires: every send answers 190 until rotated."""
        with self.lock:
            self.numbers[phone_number_id].token_expired = True

    def add_template(self, spec: TemplateSpec) -> None:
        with self.lock:
            self.templates[(spec.name, spec.language)] = spec

    def set_recipients(self, *, undeliverable: Iterable[str] = (),
                       closed_window: Iterable[str] = ()) -> None:
        with self.lock:
            self.undeliverable |= set(undeliverable)
            self.closed_window |= set(closed_window)

    def inject(self, kind: str, *, times: int = 1, code: int | None = None, delay: float = 0.0,
               number: str | None = None, recipient: str | None = None) -> None:
        if kind not in KINDS:
            raise ValueError(f"fault kind {kind!r}: one of {KINDS}")
        if kind in ("error", "fail_webhook") and code is None:
            raise ValueError(f"fault {kind!r} needs a code")
        with self.lock:
            self.faults.append(Fault(kind, times, code, delay, number, recipient))

    def configure_webhook(self, url: str | None, app_secret: str, *, read: bool = True,
                          delay: float = 0.05) -> None:
        with self.lock:
            self.webhook = WebhookConfig(url, app_secret, self.webhook.waba_id, read, delay)

    # -- used by the server ---------------------------------------------------------------------

    def take_fault(self, number: str, recipient: str, kinds: tuple[str, ...]) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.kind in kinds and fault.matches(number, recipient):
                    fault.times -= 1
                    return dataclasses.replace(fault)
            return None

    def admit(self, number: Number, now: float) -> bool:
        """Count a send against the number's throughput (sliding 1 s window)."""
        with self.lock:
            while number.recent and number.recent[0] <= now - 1.0:
                number.recent.popleft()
            if len(number.recent) >= number.throughput:
                return False
            number.recent.append(now)
            return True

    def record(self, phone_number_id: str, to: str, kind: str, opaque: str | None,
               body: dict[str, Any]) -> SentRecord:
        with self.lock:
            serial = next(self._ids)
            digits = to.lstrip("+")
            raw = f"{phone_number_id}:{digits}:{serial}:{secrets.token_hex(6)}".encode()
            wamid = "wamid." + base64.urlsafe_b64encode(raw).decode().rstrip("=")
            record = SentRecord(wamid, phone_number_id, to, self.wa_ids.get(digits, digits),
                                kind, time.time(), opaque, body)
            self.sent.append(record)
            return record

    def refuse(self, code: int) -> None:
        with self.lock:
            self.refused[code] += 1

    def sent_log(self) -> list[SentRecord]:
        with self.lock:
            return list(self.sent)

    def reset(self) -> None:
        with self.lock:
            self.faults.clear()
            self.sent.clear()
            self.refused.clear()
            self.undeliverable.clear()
            self.closed_window.clear()
            for number in self.numbers.values():
                number.recent.clear()
                number.token_expired = False


def default_templates() -> list[TemplateSpec]:
    """Templates a fresh sandbox knows (the demo and the tests use them)."""
    return [TemplateSpec("hello_world", "en_US"),
            TemplateSpec("order_update", "en_US", body=2,
                         text="Hi {{1}}, your order {{2}} has shipped."),
            TemplateSpec("order_update", "pl_PL", body=2,
                         text="Cześć {{1}}, zamówienie {{2}} zostało wysłane."),
            TemplateSpec("cart_reminder", "en_US", header=1, body=1,
                         buttons=(("url", 1),), text="You left {{1}} in your cart."),
            TemplateSpec("abandoned_cart", "en_US", body=2,
                         text="You left {{1}} in your cart ({{2}}). Reply to finish your order."),
            TemplateSpec("order_status", "en_US", body=2,
                         text="Your order {{1}} is {{2}}."),
            TemplateSpec("paused_promo", "en_US", body=1, status="PAUSED"),
            TemplateSpec("disabled_promo", "en_US", body=1, status="DISABLED")]
