package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrMessageNotFound means no message has the given id.
var ErrMessageNotFound = errors.New("message not found")

// NewMessage is a message to publish: its topic and payload, and its deliveries, one
// call per subscription, whose arguments already fit their subscribers' signatures.
type NewMessage struct {
	Topic      string
	Payload    json.RawMessage
	Identifier string
	// Publisher says who published it: "api", or the call that did (PublisherCall).
	Publisher  string
	Deliveries []NewCall
}

// PublisherCall names a call as the publisher of a message.
func PublisherCall(id int64, plugin, method string) string {
	return fmt.Sprintf("call %d (%s.%s)", id, plugin, method)
}

// Message is a stored message and its deliveries.
type Message struct {
	ID         int64
	Topic      string
	Payload    json.RawMessage
	Identifier string
	CreatedAt  time.Time
	Publisher  string
	Deliveries []Delivery
}

// Delivery is one call of a message. While the call is stored, Call is set; once it
// has finished, Last is the history entry of its last attempt. A delivery has neither
// when its call was removed without a history entry.
type Delivery struct {
	CallID int64
	Plugin string
	Method string
	Call   *Call
	Last   *HistoryEntry
}

// Publish stores messages and their deliveries atomically: all of them or none. It
// returns them stored, in the order given, each delivery with its call.
func (s *Store) Publish(ctx context.Context, msgs []NewMessage) ([]Message, error) {
	var out []Message
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		out, err = s.publish(ctx, tx, msgs)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("publish messages: %w", err)
	}
	return out, nil
}

// publish stores messages and their deliveries inside tx.
func (s *Store) publish(ctx context.Context, tx pgx.Tx, msgs []NewMessage) ([]Message, error) {
	if len(msgs) == 0 {
		return nil, nil
	}
	n := len(msgs)
	topics, payloads, idents, publishers := make([]string, n), make([]string, n), make([]*string, n), make([]string, n)
	for i, m := range msgs {
		topics[i], idents[i], publishers[i] = m.Topic, nullIfEmpty(m.Identifier), m.Publisher
		payloads[i] = string(m.Payload)
		if len(m.Payload) == 0 {
			payloads[i] = "{}"
		}
	}
	// INSERT … SELECT FROM unnest inserts, and returns, rows in array order.
	rows, err := tx.Query(ctx, `
		INSERT INTO message (topic, payload, identifier, publisher)
		SELECT t, p::jsonb, i, pub FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u(t, p, i, pub)
		RETURNING id, created_at`, topics, payloads, idents, publishers)
	if err != nil {
		return nil, err
	}
	out := make([]Message, 0, n)
	var calls []NewCall
	for rows.Next() {
		m := msgs[len(out)]
		stored := Message{Topic: m.Topic, Payload: json.RawMessage(payloads[len(out)]), Identifier: m.Identifier, Publisher: m.Publisher}
		if err := rows.Scan(&stored.ID, &stored.CreatedAt); err != nil {
			rows.Close()
			return nil, err
		}
		stored.CreatedAt = stored.CreatedAt.UTC()
		for _, d := range m.Deliveries {
			d.MessageID = stored.ID
			calls = append(calls, d)
		}
		out = append(out, stored)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) != n {
		return nil, fmt.Errorf("inserted %d messages, want %d", len(out), n)
	}
	if len(calls) == 0 {
		return out, nil
	}
	stored, err := s.insert(ctx, tx, calls, nil, false)
	if err != nil {
		return nil, err
	}
	ids, messageIDs, plugins, methods := make([]int64, len(stored)), make([]int64, len(stored)), make([]string, len(stored)), make([]string, len(stored))
	for i, c := range stored {
		ids[i], messageIDs[i], plugins[i], methods[i] = c.ID, c.MessageID, c.Plugin, c.Method
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO message_delivery (call_id, message_id, plugin, method)
		SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[])`, ids, messageIDs, plugins, methods); err != nil {
		return nil, err
	}
	next := 0
	for i := range out {
		for range msgs[i].Deliveries {
			c := stored[next]
			out[i].Deliveries = append(out[i].Deliveries, Delivery{CallID: c.ID, Plugin: c.Plugin, Method: c.Method, Call: &c})
			next++
		}
	}
	return out, nil
}

// GetMessage returns the message with the given id and its deliveries, each with its
// call while it is stored or the history entry of its last attempt, or
// ErrMessageNotFound.
func (s *Store) GetMessage(ctx context.Context, id int64) (Message, error) {
	var m Message
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT id, topic, payload, coalesce(identifier, ''), created_at, publisher FROM message WHERE id = $1`, id).
			Scan(&m.ID, &m.Topic, &m.Payload, &m.Identifier, &m.CreatedAt, &m.Publisher)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrMessageNotFound
		}
		if err != nil {
			return err
		}
		m.CreatedAt = m.CreatedAt.UTC()
		rows, err := tx.Query(ctx, `SELECT call_id, plugin, method FROM message_delivery WHERE message_id = $1 ORDER BY call_id`, id)
		if err != nil {
			return err
		}
		for rows.Next() {
			var d Delivery
			if err := rows.Scan(&d.CallID, &d.Plugin, &d.Method); err != nil {
				rows.Close()
				return err
			}
			m.Deliveries = append(m.Deliveries, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		// A message has one delivery per subscription: a handful of rows each.
		for i := range m.Deliveries {
			d := &m.Deliveries[i]
			c, err := scanCall(tx.QueryRow(ctx, "SELECT "+callColumns+" FROM future_call WHERE id = $1", d.CallID))
			switch {
			case err == nil:
				d.Call = &c
				continue
			case !errors.Is(err, pgx.ErrNoRows):
				return err
			}
			h, err := scanHistory(tx.QueryRow(ctx, "SELECT "+historyColumns+
				" FROM future_call_history WHERE call_id = $1 ORDER BY id DESC LIMIT 1", d.CallID))
			switch {
			case err == nil:
				d.Last = &h
			case !errors.Is(err, pgx.ErrNoRows):
				return err
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, ErrMessageNotFound) {
		return Message{}, fmt.Errorf("get message %d: %w", id, err)
	}
	return m, err
}

// TrimMessages deletes the messages published before cutoff none of whose deliveries
// still waits or runs, with their delivery rows, in batches, and returns how many it
// deleted. The history of their calls stays (TrimHistory trims it), without its
// messageId.
func (s *Store) TrimMessages(ctx context.Context, cutoff time.Time) (int64, error) {
	const batch = 10000
	var total int64
	for {
		tag, err := s.pool.Exec(ctx, `
			DELETE FROM message WHERE id IN (
				SELECT m.id FROM message m WHERE m.created_at < $1 AND NOT EXISTS (
					SELECT 1 FROM message_delivery d JOIN future_call c ON c.id = d.call_id WHERE d.message_id = m.id)
				LIMIT $2)`, cutoff.UTC(), batch)
		if err != nil {
			return total, fmt.Errorf("trim messages: %w", err)
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < batch {
			return total, nil
		}
	}
}
