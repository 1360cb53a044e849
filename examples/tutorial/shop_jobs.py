# shop_jobs.py - the tutorial's application: one app, three jobs.
from conveyor import Conveyor, Retry, current_job

app = Conveyor("sqlite:///shop.db")  # later: "postgresql://..."


@app.job(queue="mail", max_attempts=5, backoff=[10, 60, 300])
def send_receipt(order_id: int, email: str) -> str:
    print(f"receipt for order {order_id} sent to {email}")
    return f"sent:{order_id}"


@app.job(queue="mail")
async def send_follow_up(email: str) -> None:  # runs on the worker's loop
    print(f"follow-up sent to {email}")


@app.job(max_attempts=3, backoff=0)
def charge_card(order_id: int, amount_cents: int) -> None:
    if amount_cents > 100_000:  # retried at once (backoff=0), then discarded
        raise ValueError(f"order {order_id}: amount {amount_cents} "
                         "needs a manual check")
    if current_job().job.attempt == 1:  # busy: uses an attempt, again in 1 s
        raise Retry(in_=1, reason="gateway busy")
    print(f"order {order_id} charged {amount_cents / 100:.2f}")
