-- Recurring calls: a series is a chain of occurrences, one stored call at a time. Each
-- occurrence carries its series' schedule; when it finishes, the next one is inserted in
-- the same transaction that records the outcome.

-- +goose Up
CREATE SEQUENCE future_call_series_id;

ALTER TABLE future_call
    -- The series this call is an occurrence of; NULL for a one-off call.
    ADD COLUMN series_id  bigint,
    -- The schedule: a cron expression in an IANA time zone, or an interval on an anchor.
    ADD COLUMN cron       text,
    ADD COLUMN timezone   text,
    ADD COLUMN every_ms   bigint,
    ADD COLUMN anchor     timestamptz,
    -- Set when the series is cancelled while this occurrence runs: it gets no successor.
    ADD COLUMN series_stopped boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT future_call_series_schedule CHECK (
        series_id IS NULL
        OR (cron IS NOT NULL AND every_ms IS NULL)
        OR (cron IS NULL AND every_ms IS NOT NULL AND anchor IS NOT NULL));

-- One occurrence per series and run time: a successor is created exactly once.
CREATE UNIQUE INDEX future_call_series_run ON future_call (series_id, run_at) WHERE series_id IS NOT NULL;

ALTER TABLE future_call_history ADD COLUMN series_id bigint;
CREATE INDEX future_call_history_series ON future_call_history (series_id) WHERE series_id IS NOT NULL;

-- +goose Down
DROP INDEX future_call_history_series;
ALTER TABLE future_call_history DROP COLUMN series_id;
DROP INDEX future_call_series_run;
ALTER TABLE future_call
    DROP CONSTRAINT future_call_series_schedule,
    DROP COLUMN series_stopped,
    DROP COLUMN anchor,
    DROP COLUMN every_ms,
    DROP COLUMN timezone,
    DROP COLUMN cron,
    DROP COLUMN series_id;
DROP SEQUENCE future_call_series_id;
