-- WhatsApp accounts (one sending number each) and scheduled messages.
-- Times are UTC, written by SQLAlchemy as 'YYYY-MM-DD HH:MM:SS.ffffff' (sorts as time).

CREATE TABLE commerce_wa_accounts (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
    phone_number_id TEXT NOT NULL CHECK (length(phone_number_id) BETWEEN 1 AND 64),
    display_number  TEXT NOT NULL DEFAULT '',
    token           TEXT NOT NULL,
    api_version     TEXT NOT NULL,
    base_url        TEXT NOT NULL,
    throughput      INTEGER NOT NULL DEFAULT 80 CHECK (throughput > 0),
    send_rate       REAL NOT NULL DEFAULT 1.0 CHECK (send_rate > 0),
    status          TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'stopped')),
    stop_code       INTEGER,
    stop_reason     TEXT,
    stopped_at      TEXT,
    next_send_at    TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    CHECK (send_rate <= throughput),
    CHECK ((status = 'stopped') = (stopped_at IS NOT NULL))
);

CREATE TABLE commerce_messages (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id        INTEGER NOT NULL REFERENCES commerce_wa_accounts (id),
    recipient         TEXT NOT NULL,
    wa_id             TEXT,
    kind              TEXT NOT NULL CHECK (kind IN ('text', 'template')),
    content           TEXT NOT NULL,
    scheduled_at      TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('pending', 'processing', 'sent', 'failed',
                                                      'cancelled')),
    retry_count       INTEGER NOT NULL DEFAULT 0 CHECK (retry_count >= 0),
    max_retries       INTEGER NOT NULL DEFAULT 3 CHECK (max_retries BETWEEN 0 AND 5),
    hold_count        INTEGER NOT NULL DEFAULT 0,
    ambiguous_count   INTEGER NOT NULL DEFAULT 0,
    error_code        INTEGER,
    error_title       TEXT,
    error_detail      TEXT,
    fbtrace_id        TEXT,
    released_at       TEXT,
    sent_at           TEXT,
    meta_message_id   TEXT,
    delivery_status   TEXT CHECK (delivery_status IN ('sent', 'delivered', 'read', 'failed')),
    delivered_at      TEXT,
    read_at           TEXT,
    job_id            INTEGER,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    CHECK (status <> 'sent' OR meta_message_id IS NOT NULL)
);

CREATE INDEX commerce_messages_status ON commerce_messages (status, scheduled_at);
CREATE INDEX commerce_messages_account ON commerce_messages (account_id, status);
CREATE INDEX commerce_messages_job ON commerce_messages (job_id);
CREATE UNIQUE INDEX commerce_messages_wamid ON commerce_messages (meta_message_id)
    WHERE meta_message_id IS NOT NULL;
