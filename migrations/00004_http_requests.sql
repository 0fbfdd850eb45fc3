-- How many outbound HTTP requests (fc.http) each attempt made, refused ones included.
-- Rows written before this column existed, and entries of calls that never ran, have 0.

-- +goose Up
ALTER TABLE future_call_history ADD COLUMN http_requests integer NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE future_call_history DROP COLUMN http_requests;
