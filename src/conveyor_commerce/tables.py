"""The kit's tables as SQLAlchemy Core objects, for building queries.

The schema itself is created by the numbered SQL migrations (`migrations/<engine>/`);
`tests/commerce/test_storage.py` checks that these declarations and the migrated tables have
the same columns on both engines.
"""

from __future__ import annotations

import sqlalchemy as sa

from conveyor_commerce.db import Money, UtcDateTime

metadata = sa.MetaData()

accounts = sa.Table(
    "commerce_wa_accounts", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("phone_number_id", sa.Text, nullable=False),
    sa.Column("display_number", sa.Text, nullable=False),
    sa.Column("token", sa.Text, nullable=False),
    sa.Column("api_version", sa.Text, nullable=False),
    sa.Column("base_url", sa.Text, nullable=False),
    sa.Column("throughput", sa.Integer, nullable=False),
    sa.Column("send_rate", sa.Float, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("stop_code", sa.Integer),
    sa.Column("stop_reason", sa.Text),
    sa.Column("stopped_at", UtcDateTime),
    sa.Column("next_send_at", UtcDateTime),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

messages = sa.Table(
    "commerce_messages", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
    sa.Column("account_id", sa.BigInteger, nullable=False),
    sa.Column("recipient", sa.Text, nullable=False),
    sa.Column("wa_id", sa.Text),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("content", sa.Text, nullable=False),
    sa.Column("scheduled_at", UtcDateTime, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("retry_count", sa.Integer, nullable=False),
    sa.Column("max_retries", sa.Integer, nullable=False),
    sa.Column("hold_count", sa.Integer, nullable=False),
    sa.Column("ambiguous_count", sa.Integer, nullable=False),
    sa.Column("error_code", sa.Integer),
    sa.Column("error_title", sa.Text),
    sa.Column("error_detail", sa.Text),
    sa.Column("fbtrace_id", sa.Text),
    sa.Column("released_at", UtcDateTime),
    sa.Column("sent_at", UtcDateTime),
    sa.Column("meta_message_id", sa.Text),
    sa.Column("delivery_status", sa.Text),
    sa.Column("delivered_at", UtcDateTime),
    sa.Column("read_at", UtcDateTime),
    sa.Column("job_id", sa.BigInteger),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

carts = sa.Table(
    "commerce_carts", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
    sa.Column("account_id", sa.BigInteger, nullable=False),
    sa.Column("customer_phone", sa.Text, nullable=False),
    sa.Column("time_zone", sa.Text),
    sa.Column("items", sa.Text, nullable=False),
    sa.Column("total", Money, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("coupon_code", sa.Text),
    sa.Column("shipping_address", sa.Text),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("order_id", sa.Text),
    sa.Column("abandoned_at", UtcDateTime),
    sa.Column("reminder_message_id", sa.BigInteger),
    sa.Column("reminder_sent_at", UtcDateTime),
    sa.Column("ordered_at", UtcDateTime),
    sa.Column("recovered_at", UtcDateTime),
    sa.Column("expired_at", UtcDateTime),
    sa.Column("expires_at", UtcDateTime, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

cart_cleanups = sa.Table(
    "commerce_cart_cleanups", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
    sa.Column("mode", sa.Text, nullable=False),
    sa.Column("cutoff", UtcDateTime, nullable=False),
    sa.Column("carts", sa.Integer, nullable=False),
    sa.Column("batches", sa.Integer, nullable=False),
    sa.Column("seconds", sa.Float, nullable=False),
    sa.Column("started_at", UtcDateTime, nullable=False),
    sa.Column("finished_at", UtcDateTime, nullable=False),
)

order_notifications = sa.Table(
    "commerce_order_notifications", metadata,
    sa.Column("order_id", sa.Text, primary_key=True),
    sa.Column("status", sa.Text, primary_key=True),
    sa.Column("message_id", sa.BigInteger),
    sa.Column("job_id", sa.BigInteger, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
)

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

campaigns = sa.Table(
    "commerce_campaigns", metadata,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("account_id", sa.BigInteger, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("content", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("chunk_size", sa.Integer, nullable=False),
    sa.Column("batch_id", sa.BigInteger),
    sa.Column("recipients", sa.Integer, nullable=False),
    sa.Column("pending", sa.Integer, nullable=False),
    sa.Column("sent", sa.Integer, nullable=False),
    sa.Column("failed", sa.Integer, nullable=False),
    sa.Column("skipped", sa.Integer, nullable=False),
    sa.Column("invalid", sa.Integer, nullable=False),
    sa.Column("duplicates", sa.Integer, nullable=False),
    sa.Column("opted_out", sa.Integer, nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("summary", sa.Text),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("started_at", UtcDateTime),
    sa.Column("finished_at", UtcDateTime),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

campaign_recipients = sa.Table(
    "commerce_campaign_recipients", metadata,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("campaign_id", sa.BigInteger, nullable=False),
    sa.Column("chunk", sa.Integer, nullable=False),
    sa.Column("phone", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("wamid", sa.Text),
    sa.Column("error_code", sa.Integer),
    sa.Column("reason", sa.Text),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("released_at", UtcDateTime),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

opt_outs = sa.Table(
    "commerce_opt_outs", metadata,
    sa.Column("phone", sa.Text, primary_key=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
)

def _id() -> sa.Column[int]:
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                     primary_key=True)


shops = sa.Table(
    "commerce_shops", metadata, _id(),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("base_url", sa.Text, nullable=False),
    sa.Column("api_key", sa.Text, nullable=False),
    sa.Column("id_shop", sa.Integer),
    sa.Column("language_id", sa.Integer, nullable=False),
    sa.Column("timezone", sa.Text, nullable=False),
    sa.Column("rate_limit", sa.Text, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

categories = sa.Table(
    "commerce_categories", metadata, _id(),
    sa.Column("parent_id", sa.BigInteger),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("link_rewrite", sa.Text, nullable=False),
    sa.Column("active", sa.Integer, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

products = sa.Table(
    "commerce_products", metadata, _id(),
    sa.Column("reference", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("price", sa.Text, nullable=False),
    sa.Column("stock", sa.Integer, nullable=False),
    sa.Column("category_id", sa.BigInteger, nullable=False),
    sa.Column("priority", sa.Integer, nullable=False),
    sa.Column("active", sa.Integer, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

sync_status = sa.Table(
    "commerce_sync_status", metadata,
    sa.Column("entity", sa.Text, primary_key=True),
    sa.Column("entity_id", sa.BigInteger, primary_key=True),
    sa.Column("shop_id", sa.BigInteger, primary_key=True),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("priority", sa.Integer, nullable=False),
    sa.Column("retry_count", sa.Integer, nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("external_id", sa.BigInteger),
    sa.Column("last_synced_at", UtcDateTime),
    sa.Column("content_hash", sa.Text),
    sa.Column("job_id", sa.BigInteger),
    sa.Column("started_at", UtcDateTime),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

sync_log = sa.Table(
    "commerce_sync_log", metadata, _id(),
    sa.Column("entity", sa.Text, nullable=False),
    sa.Column("entity_id", sa.BigInteger, nullable=False),
    sa.Column("shop_id", sa.BigInteger, nullable=False),
    sa.Column("operation", sa.Text, nullable=False),
    sa.Column("direction", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("details", sa.Text),
    sa.Column("execution_time", sa.Float),
    sa.Column("job_id", sa.BigInteger),
    sa.Column("created_at", UtcDateTime, nullable=False),
)

ALL = (accounts, messages, carts, cart_cleanups, order_notifications, campaigns,
       campaign_recipients, opt_outs, shops, categories, products, sync_status, sync_log)
