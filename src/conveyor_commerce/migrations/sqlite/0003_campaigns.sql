-- Broadcast campaigns: a campaign, one row per recipient with its outcome, and the opt-out list.
-- Times are UTC, written by SQLAlchemy as 'YYYY-MM-DD HH:MM:SS.ffffff' (sorts as time).

CREATE TABLE commerce_campaigns (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    account_id   INTEGER NOT NULL REFERENCES commerce_wa_accounts (id),
    kind         TEXT NOT NULL CHECK (kind IN ('text', 'template')),
    content      TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('draft', 'running', 'paused', 'cancelling',
                                                 'cancelled', 'completed', 'failed')),
    chunk_size   INTEGER NOT NULL CHECK (chunk_size BETWEEN 1 AND 1000),
    batch_id     INTEGER,
    recipients   INTEGER NOT NULL DEFAULT 0,
    pending      INTEGER NOT NULL DEFAULT 0,
    sent         INTEGER NOT NULL DEFAULT 0,
    failed       INTEGER NOT NULL DEFAULT 0,
    skipped      INTEGER NOT NULL DEFAULT 0,
    invalid      INTEGER NOT NULL DEFAULT 0,
    duplicates   INTEGER NOT NULL DEFAULT 0,
    opted_out    INTEGER NOT NULL DEFAULT 0,
    error        TEXT,
    summary      TEXT,
    created_at   TEXT NOT NULL,
    started_at   TEXT,
    finished_at  TEXT,
    updated_at   TEXT NOT NULL
);
CREATE INDEX commerce_campaigns_status ON commerce_campaigns (status, id);

CREATE TABLE commerce_campaign_recipients (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id  INTEGER NOT NULL REFERENCES commerce_campaigns (id) ON DELETE CASCADE,
    chunk        INTEGER NOT NULL,
    phone        TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'processing', 'sent', 'failed',
                                                 'skipped')),
    wamid        TEXT,
    error_code   INTEGER,
    reason       TEXT,
    attempts     INTEGER NOT NULL DEFAULT 0,
    released_at  TEXT,
    updated_at   TEXT NOT NULL,
    UNIQUE (campaign_id, phone),
    CHECK ((status = 'sent') = (wamid IS NOT NULL))
);
CREATE INDEX commerce_campaign_recipients_chunk
    ON commerce_campaign_recipients (campaign_id, chunk, status);
CREATE INDEX commerce_campaign_recipients_status
    ON commerce_campaign_recipients (campaign_id, status, id);

CREATE TABLE commerce_opt_outs (
    phone        TEXT NOT NULL PRIMARY KEY,
    reason       TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL
);
