"""Order notifications: `send_order_notification(order_id, status)`, a template message to the
customer when the shop's order is confirmed, shipped or delivered.

Once per (order, status): the job is unique on that pair in every state, and the first run
records the pair with its message in `commerce_order_notifications` (primary key), so neither
a second enqueue nor a job pruned long ago can send it twice. The job sends its own message
through the kit's send path: 3 attempts, 60 s then 300 s apart (the kit's backoff), and after
the last the message is `failed` with the error and the job ends `discarded` with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from conveyor import Job, current_job
from conveyor_commerce import tables
from conveyor_commerce.carts import store
from conveyor_commerce.errors import CartNotFound, InvalidMessage
from conveyor_commerce.messages import sending
from conveyor_commerce.whatsapp import payloads
from conveyor_commerce.whatsapp.accounts import cost_for

if TYPE_CHECKING:
    from conveyor_commerce.kit import Commerce

STATUSES = ("confirmed", "shipped", "delivered")
ATTEMPTS = 3
N = tables.order_notifications


def check_order_id(order_id: Any) -> str:
    if not isinstance(order_id, str) or not 1 <= len(order_id) <= 100 \
            or not order_id.isprintable():
        raise InvalidMessage(f"order id: a printable string of 1 to 100 characters, got "
                             f"{order_id!r:.40}")
    return order_id


def unique_pair(order_id: str = "", status: str = "", **_: Any) -> list[str]:
    """The notification job's unique key: the order and the status, nothing else."""
    return [order_id, status]


def enqueue(kit: Commerce, order_id: str, status: str, *, account: int | str | None,
            phone: str | None) -> Job:
    check_order_id(order_id)
    if status not in STATUSES:
        raise InvalidMessage(f"order status {status!r:.30}: one of {', '.join(STATUSES)}")
    with kit.ready().begin() as conn:
        cart = store.by_order(conn, order_id)
        if cart is None and (account is None or phone is None):
            raise CartNotFound(f"no cart has order {order_id!r}: give account= and phone=")
        acct = kit.accounts.get_on(conn, account if account is not None
                                   else cart.account_id if cart else 0)
    to = payloads.normalize_number(phone) if phone is not None else \
        cart.customer_phone if cart else ""
    return kit.jobs.order_notification.options(cost=cost_for(acct.send_rate)).enqueue(
        order_id=order_id, status=status, account_id=acct.id, phone=to)


def template_for(kit: Commerce, order_id: str, status: str) -> payloads.Template:
    name, language = kit.settings.order_template
    return payloads.Template(name, language, body=(order_id, status))


async def send(kit: Commerce, order_id: str, status: str, account_id: int,
               phone: str) -> dict[str, Any]:
    """The job: store the notification for this (order, status) once, then send it."""
    job = current_job().job
    step = await kit.in_thread(lambda: _claim(kit, order_id, status, account_id, phone, job))
    if isinstance(step, dict):
        return step
    sent = await sending.run(kit, step, account_id)
    return {"order_id": order_id, "status": status, "message_id": step, **sent}


def _claim(kit: Commerce, order_id: str, status: str, account_id: int, phone: str,
           job: Job) -> int | dict[str, Any]:
    try:
        with kit.ready().begin() as conn:
            row = conn.execute(sa.select(N).where(N.c.order_id == order_id,
                                                  N.c.status == status)
                               .with_for_update()).mappings().first()
            if row is not None:
                if row["job_id"] == job.id and row["message_id"] is not None:
                    return int(row["message_id"])
                return {"order_id": order_id, "status": status,
                        "skipped": f"already notified (message {row['message_id']})"}
            account = kit.accounts.get_on(conn, account_id)
            message_id = kit.messages.insert_on(
                conn, account, phone, template_for(kit, order_id, status), job_id=job.id,
                max_retries=job.max_attempts - 1)
            conn.execute(sa.insert(N).values(order_id=order_id, status=status,
                                             message_id=message_id, job_id=job.id,
                                             created_at=kit.now()))
    except sa.exc.IntegrityError:  # another job recorded the pair first
        return {"order_id": order_id, "status": status, "skipped": "already notified"}
    return message_id
