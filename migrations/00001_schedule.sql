-- The schedule of future calls and the history of finished ones.

-- +goose Up
CREATE TABLE future_call (
    id             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    plugin         text        NOT NULL,
    method         text        NOT NULL,
    args           jsonb       NOT NULL DEFAULT '{}',
    -- When the call is due, always UTC.
    run_at         timestamptz NOT NULL,
    -- Cancels every call carrying it (Serverpod's cancel(identifier)).
    identifier     text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    -- Attempts started so far, and the retry policy fixed when the call was scheduled.
    attempt        integer     NOT NULL DEFAULT 0,
    max_attempts   integer     NOT NULL DEFAULT 1 CHECK (max_attempts >= 1),
    backoff_ms     bigint      NOT NULL DEFAULT 1000,
    max_backoff_ms bigint      NOT NULL DEFAULT 3600000,
    -- The claim: which host runs the call, since when, and until when the claim holds.
    -- A claim whose lease ran out belongs to a host that died.
    claimed_by     text,
    claimed_at     timestamptz,
    lease_until    timestamptz,
    -- The error of the previous attempt, when the call is waiting to be retried.
    last_error     text,
    CHECK ((claimed_by IS NULL) = (lease_until IS NULL))
);

-- Due calls not yet claimed, oldest first: the claim query walks this index.
CREATE INDEX future_call_due ON future_call (run_at, id) WHERE claimed_by IS NULL;
-- Cancel by identifier.
CREATE INDEX future_call_identifier ON future_call (identifier) WHERE identifier IS NOT NULL;
-- Claims whose lease ran out.
CREATE INDEX future_call_lease ON future_call (lease_until) WHERE claimed_by IS NOT NULL;

-- One row per finished attempt, and per call removed without running.
CREATE TABLE future_call_history (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    call_id      bigint      NOT NULL,
    plugin       text        NOT NULL,
    method       text        NOT NULL,
    args         jsonb       NOT NULL,
    identifier   text,
    scheduled_at timestamptz NOT NULL,
    started_at   timestamptz,
    finished_at  timestamptz NOT NULL,
    attempt      integer     NOT NULL,
    outcome      text        NOT NULL CHECK (outcome IN
        ('succeeded', 'failed', 'timed_out', 'interrupted', 'broken', 'deleted_broken', 'cancelled')),
    error        text,
    -- The host that ran the attempt, or that recorded the outcome.
    host         text        NOT NULL,
    -- Set when a failed attempt will be retried: the time of the next attempt.
    retry_at     timestamptz
);

CREATE INDEX future_call_history_call ON future_call_history (call_id);
CREATE INDEX future_call_history_finished ON future_call_history (finished_at);

-- +goose Down
DROP TABLE future_call_history;
DROP TABLE future_call;
