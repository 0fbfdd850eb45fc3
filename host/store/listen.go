package store

import "context"

// Listen waits for wake-ups on DueChannel and passes each one's payload to notified,
// until ctx ends or the connection fails; it returns the error that ended it. It calls
// listening once the LISTEN is in place, so that the caller can look for the calls
// scheduled before. The connection it holds is taken out of the pool for good: one in
// LISTEN state must not serve other queries.
func (s *Store) Listen(ctx context.Context, listening func(), notified func(payload string)) error {
	pooled, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	conn := pooled.Hijack()
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
