package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/jackc/pgx/v5"
)

// HistoryEntry is one finished attempt of a call, or a call removed without running
// (cancelled, deleted as broken).
type HistoryEntry struct {
	ID          int64           `json:"id"`
	CallID      int64           `json:"callId"`
	Plugin      string          `json:"plugin"`
	Method      string          `json:"method"`
	Args        json.RawMessage `json:"args"`
	Identifier  string          `json:"identifier,omitempty"`
	ScheduledAt time.Time       `json:"scheduledAt"`
	// StartedAt is nil for a call that never started.
	StartedAt  *time.Time  `json:"startedAt,omitempty"`
	FinishedAt time.Time   `json:"finishedAt"`
	Attempt    int         `json:"attempt"`
	Outcome    abi.Outcome `json:"outcome"`
	Error      string      `json:"error,omitempty"`
	// Host ran the attempt or recorded the outcome.
	Host string `json:"host"`
	// RetryAt is when the next attempt is due, for a failed attempt that is retried.
	RetryAt *time.Time `json:"retryAt,omitempty"`
	// SeriesID is the series of a recurring call's occurrence, 0 for a one-off call.
	SeriesID int64 `json:"seriesId,omitempty"`
	// HTTPRequests is how many fc.http requests the attempt made, refused ones included.
	HTTPRequests int `json:"httpRequests"`
	// PluginVersion is the version of the plugin the attempt ran on; empty for a call
	// removed without running.
	PluginVersion string `json:"pluginVersion,omitempty"`
	// MessageID is the message the call delivered, 0 for other calls.
	MessageID int64 `json:"messageId,omitempty"`
}

// HistoryFilter selects history entries; zero fields match everything.
type HistoryFilter struct {
	CallID     int64
	SeriesID   int64
	Plugin     string
	Method     string
	Identifier string
	Outcome    abi.Outcome
	// FinishedBefore and FinishedAfter bound the finish time: finished_at <
	// FinishedBefore, finished_at >= FinishedAfter.
	FinishedBefore *time.Time
	FinishedAfter  *time.Time
}

const historyColumns = `id, call_id, plugin, method, args, coalesce(identifier, ''), scheduled_at, started_at,
	finished_at, attempt, outcome, coalesce(error, ''), host, retry_at, coalesce(series_id, 0), http_requests, coalesce(plugin_version, ''),
	coalesce((SELECT d.message_id FROM message_delivery d WHERE d.call_id = future_call_history.call_id), 0)`

func scanHistory(row pgx.Row) (HistoryEntry, error) {
	var h HistoryEntry
	err := row.Scan(&h.ID, &h.CallID, &h.Plugin, &h.Method, &h.Args, &h.Identifier, &h.ScheduledAt, &h.StartedAt,
		&h.FinishedAt, &h.Attempt, &h.Outcome, &h.Error, &h.Host, &h.RetryAt, &h.SeriesID, &h.HTTPRequests, &h.PluginVersion, &h.MessageID)
	if err != nil {
		return HistoryEntry{}, err
	}
	h.ScheduledAt, h.FinishedAt = h.ScheduledAt.UTC(), h.FinishedAt.UTC()
	h.StartedAt, h.RetryAt = utcPtr(h.StartedAt), utcPtr(h.RetryAt)
	return h, nil
}

// ListHistory returns history entries matching f, newest first (by id, descending), one
// page at a time, bounded by p's rows and bytes, with keyset pagination: entries
// recorded while a client pages through appear before its first page, never in the
// middle. next is the cursor of the following page, empty after the last one.
func (s *Store) ListHistory(ctx context.Context, f HistoryFilter, p Page) (entries []HistoryEntry, next string, err error) {
	var q query
	if f.SeriesID != 0 {
		q.cond("series_id = " + q.arg(f.SeriesID))
	}
	if f.CallID != 0 {
		q.cond("call_id = " + q.arg(f.CallID))
	}
	q.where("plugin", "=", f.Plugin)
	q.where("method", "=", f.Method)
	q.where("identifier", "=", f.Identifier)
	q.where("outcome", "=", string(f.Outcome))
	if f.FinishedBefore != nil {
		q.cond("finished_at < " + q.arg(*f.FinishedBefore))
	}
	if f.FinishedAfter != nil {
		q.cond("finished_at >= " + q.arg(*f.FinishedAfter))
	}
	if p.Cursor != "" {
		id, err := decodeHistoryCursor(p.Cursor)
		if err != nil {
			return nil, "", err
		}
		q.cond("id < " + q.arg(id))
	}
	more, err := s.boundedPage(ctx, pageQuery{
		table: "future_call_history", columns: historyColumns,
		order: "id DESC",
		size:  "octet_length(args::text) + coalesce(octet_length(error), 0) + coalesce(octet_length(identifier), 0)",
		where: q,
	}, p, func(row pgx.Row) error {
		h, err := scanHistory(row)
		entries = append(entries, h)
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("list history: %w", err)
	}
	if more && len(entries) > 0 {
		next = encodeHistoryCursor(entries[len(entries)-1].ID)
	}
	return entries, next, nil
}

// History cursors carry a prefix, so that a cursor of List is refused here rather
// than misread.
const historyCursorPrefix = "h"

func encodeHistoryCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(historyCursorPrefix + strconv.FormatInt(id, 10)))
}

func decodeHistoryCursor(c string) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) < 2 || string(b[:1]) != historyCursorPrefix {
		return 0, ErrBadCursor
	}
	id, err := strconv.ParseInt(string(b[1:]), 10, 64)
	if err != nil {
		return 0, ErrBadCursor
	}
	return id, nil
}
