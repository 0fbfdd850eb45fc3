-- The state of each plugin (fc.state_get, fc.state_put, fc.state_delete): keys and
-- values, written in the transaction that records the success of the call that wrote
-- them.

-- +goose Up
-- Every write takes the next version: a call's writes commit only if the keys it read
-- still have the versions it saw.
CREATE SEQUENCE plugin_state_version;

CREATE TABLE plugin_state (
    plugin     text        NOT NULL,
    -- Byte order, so that pages of keys do not depend on the database's locale.
    key        text        COLLATE "C" NOT NULL CHECK (octet_length(key) BETWEEN 1 AND 256),
    value      bytea       NOT NULL,
    version    bigint      NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (plugin, key)
);

-- One row per plugin that has written state: how many keys it holds. A transaction
-- that commits state locks its plugins' rows first, so the commits of one plugin's
-- state (the conflict check, the writes and the key count) happen one at a time.
CREATE TABLE plugin_state_keys (
    plugin text   PRIMARY KEY,
    keys   bigint NOT NULL DEFAULT 0 CHECK (keys >= 0)
);

-- +goose Down
DROP TABLE plugin_state_keys;
DROP TABLE plugin_state;
DROP SEQUENCE plugin_state_version;
