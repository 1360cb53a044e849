-- Shopping carts of the chat flow (abandoned-cart reminders, expiry), the runs of the
-- expired-cart cleanup, and the order notifications sent (one per order and status).

-- Times are UTC text as in 0001; totals are decimal text (exact, unlike REAL).
CREATE TABLE commerce_carts (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id          INTEGER NOT NULL REFERENCES commerce_wa_accounts (id),
    customer_phone      TEXT NOT NULL CHECK (length(customer_phone) BETWEEN 8 AND 15),
    time_zone           TEXT,
    items               TEXT NOT NULL,
    total               TEXT NOT NULL CHECK (CAST(total AS REAL) >= 0),
    currency            TEXT NOT NULL CHECK (length(currency) = 3),
    coupon_code         TEXT,
    shipping_address    TEXT,
    status              TEXT NOT NULL CHECK (status IN ('active', 'abandoned', 'reminded',
                                                        'ordered', 'recovered', 'expired')),
    order_id            TEXT,
    abandoned_at        TEXT,
    reminder_message_id INTEGER REFERENCES commerce_messages (id) ON DELETE SET NULL,
    reminder_sent_at    TEXT,
    ordered_at          TEXT,
    recovered_at        TEXT,
    expired_at          TEXT,
    expires_at          TEXT NOT NULL,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    CHECK ((status = 'recovered') = (recovered_at IS NOT NULL))
);

-- The scan (status = 'active' AND updated_at <= now - delay), the cleanup (unfinished AND
-- expires_at <= now), the statistics over a period (created_at) and the listing by phone.
CREATE INDEX commerce_carts_idle ON commerce_carts (status, updated_at);
CREATE INDEX commerce_carts_expiry ON commerce_carts (status, expires_at);
CREATE INDEX commerce_carts_created ON commerce_carts (created_at);
CREATE INDEX commerce_carts_phone ON commerce_carts (customer_phone);
CREATE UNIQUE INDEX commerce_carts_order ON commerce_carts (order_id) WHERE order_id IS NOT NULL;

CREATE TABLE commerce_cart_cleanups (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    mode        TEXT NOT NULL CHECK (mode IN ('expire', 'delete')),
    cutoff      TEXT NOT NULL,
    carts       INTEGER NOT NULL CHECK (carts >= 0),
    batches     INTEGER NOT NULL CHECK (batches >= 0),
    seconds     REAL NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT NOT NULL
);

CREATE TABLE commerce_order_notifications (
    order_id    TEXT NOT NULL CHECK (length(order_id) BETWEEN 1 AND 100),
    status      TEXT NOT NULL CHECK (status IN ('confirmed', 'shipped', 'delivered')),
    message_id  INTEGER REFERENCES commerce_messages (id) ON DELETE SET NULL,
    job_id      INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (order_id, status)
);
