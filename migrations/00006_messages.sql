-- Messages (POST /v1/messages, fc.publish): each message published to a topic, and its
-- deliveries, one call per subscription, stored in the transaction that stores it.

-- +goose Up
CREATE TABLE message (
    id         bigserial   PRIMARY KEY,
    topic      text        NOT NULL,
    payload    jsonb       NOT NULL,
    identifier text,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- Who published it: "api", or "call <id> (<plugin>.<method>)" for fc.publish.
    publisher  text        NOT NULL
);
CREATE INDEX message_created ON message (created_at);

-- The message a waiting call delivers; NULL for other calls.
ALTER TABLE future_call ADD COLUMN message_id bigint;

-- One row per delivery, kept after its call has finished (the call's history entries
-- find their message through it, GET /v1/messages/{id} its deliveries).
CREATE TABLE message_delivery (
    call_id    bigint PRIMARY KEY,
    message_id bigint NOT NULL REFERENCES message (id) ON DELETE CASCADE,
    plugin     text   NOT NULL,
    method     text   NOT NULL
);
CREATE INDEX message_delivery_message ON message_delivery (message_id);

-- +goose Down
DROP TABLE message_delivery;
ALTER TABLE future_call DROP COLUMN message_id;
DROP TABLE message;
