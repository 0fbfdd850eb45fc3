package store

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// Listen waits for wake-ups on DueChannel and passes each one's payload to notified,
// until ctx ends or the connection fails; it returns the error that ended it. It calls
// listening once the LISTEN is in place, so that the caller can look for the calls
// scheduled before. LISTEN needs a session of its own, so it runs on a direct
// connection outside the pool: behind a transaction pooler without a direct URL it
// returns [ErrNoSession] at once.
func (s *Store) Listen(ctx context.Context, listening func(), notified func(payload string)) error {
	if s.direct == nil {
		return ErrNoSession
	}
	conn, err := pgx.ConnectConfig(ctx, s.direct)
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
