-- Catalog sync to PrestaShop: shops, the local catalogue (categories, products), the sync
-- status of each (entity, shop) and the sync log. Times are UTC text, as in 0001.

CREATE TABLE commerce_shops (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
    base_url    TEXT NOT NULL CHECK (substr(base_url, 1, 4) = 'http'),
    api_key     TEXT NOT NULL,
    id_shop     INTEGER,
    language_id INTEGER NOT NULL DEFAULT 1 CHECK (language_id > 0),
    timezone    TEXT NOT NULL DEFAULT 'UTC',
    rate_limit  TEXT NOT NULL DEFAULT '300/m',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE commerce_categories (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    parent_id    INTEGER REFERENCES commerce_categories (id),
    name         TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
    link_rewrite TEXT NOT NULL CHECK (length(link_rewrite) BETWEEN 1 AND 128),
    active       INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    CHECK (parent_id IS NULL OR parent_id <> id)
);

CREATE TABLE commerce_products (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    reference   TEXT NOT NULL UNIQUE CHECK (length(reference) BETWEEN 1 AND 64),
    name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
    price       TEXT NOT NULL,
    stock       INTEGER NOT NULL DEFAULT 0,
    category_id INTEGER NOT NULL REFERENCES commerce_categories (id),
    priority    INTEGER NOT NULL DEFAULT 5 CHECK (priority BETWEEN 1 AND 10),
    active      INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE commerce_sync_status (
    entity         TEXT NOT NULL CHECK (entity IN ('product', 'category')),
    entity_id      INTEGER NOT NULL,
    shop_id        INTEGER NOT NULL REFERENCES commerce_shops (id),
    status         TEXT NOT NULL CHECK (status IN ('pending', 'syncing', 'synced', 'error',
                                                   'conflict')),
    priority       INTEGER NOT NULL DEFAULT 5,
    retry_count    INTEGER NOT NULL DEFAULT 0 CHECK (retry_count >= 0),
    last_error     TEXT,
    external_id    INTEGER,
    last_synced_at TEXT,
    content_hash   TEXT,
    job_id         INTEGER,
    started_at     TEXT,
    updated_at     TEXT NOT NULL,
    PRIMARY KEY (entity, entity_id, shop_id),
    CHECK (status <> 'synced' OR external_id IS NOT NULL)
);

CREATE INDEX commerce_sync_status_shop ON commerce_sync_status (shop_id, status);

CREATE TABLE commerce_sync_log (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    entity         TEXT NOT NULL CHECK (entity IN ('product', 'category', 'batch')),
    entity_id      INTEGER NOT NULL,
    shop_id        INTEGER NOT NULL REFERENCES commerce_shops (id),
    operation      TEXT NOT NULL CHECK (operation IN ('create', 'update', 'stock', 'unchanged',
                                                      'bulk')),
    direction      TEXT NOT NULL CHECK (direction IN ('push', 'pull')),
    status         TEXT NOT NULL CHECK (status IN ('success', 'error', 'conflict')),
    message        TEXT NOT NULL DEFAULT '',
    details        TEXT,
    execution_time REAL,
    job_id         INTEGER,
    created_at     TEXT NOT NULL
);

CREATE INDEX commerce_sync_log_shop ON commerce_sync_log (shop_id, id);
CREATE INDEX commerce_sync_log_entity ON commerce_sync_log (entity, entity_id, shop_id);
