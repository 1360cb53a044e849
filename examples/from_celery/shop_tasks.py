# shop_tasks.py - Celery tasks moved to Conveyor (docs/comparison.md shows the Celery original).
from conveyor import Conveyor, Discard

app = Conveyor()  # $CONVEYOR_URL: the database is the broker and the result backend


class CardDeclined(Exception):
    """The bank said no: running again will not help."""


def call_bank(order_id: int, amount_cents: int) -> str:
    """The payment API call (a stand-in here); raises CardDeclined."""
    return f"ch_{order_id}_{amount_cents}"


@app.job(queue="billing", max_attempts=6, backoff=[10, 20, 40, 80, 160],
         rate_limit="10/s")  # 10 charges/s for the whole fleet, not per worker
def charge(order_id: int, amount_cents: int) -> dict:
    try:
        reference = call_bank(order_id, amount_cents)  # any other error: retried with backoff
    except CardDeclined as exc:
        raise Discard(str(exc)) from exc  # ends discarded now, whatever attempts are left
    return {"order_id": order_id, "reference": reference}


@app.job(queue="mail")
def send_receipt(order_id: int) -> None:
    ...


@app.job()
def report() -> None:
    ...


app.cron("0 2 * * *", report, name="nightly-report")  # celery beat's entry, fired by any worker


def place_order(order_id: int) -> None:
    """What the web handler does: charge, then mail the receipt once the charge completed."""
    app.chain(charge.s(order_id, 4999), send_receipt.s(order_id))
