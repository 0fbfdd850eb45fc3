package store

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// Listen waits for wake-ups on DueChannel and passes each one's payload to notified,
// until ctx ends or the connection fails; it returns the error that ended it. It calls
// listening once the LISTEN is in place, so that the caller can look for the calls
// scheduled before. LISTEN needs a session of its own: it runs on a connection to the
// direct URL when there is one, else on one taken out of the pool for good (one in
// LISTEN state must not serve other queries). Behind a transaction pooler without a
// direct URL it returns [ErrNoSession] at once.
func (s *Store) Listen(ctx context.Context, listening func(), notified func(payload string)) error {
	conn, err := s.session(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+DueChannel); err != nil {
		return err
	}
	listening()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		notified(n.Payload)
	}
}

// session returns a connection of the store's own, outside the pool.
func (s *Store) session(ctx context.Context) (*pgx.Conn, error) {
	switch {
	case s.direct != nil:
		return pgx.ConnectConfig(ctx, s.direct)
	case s.pooled:
		return nil, ErrNoSession
	}
	pooled, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	return pooled.Hijack(), nil
}
