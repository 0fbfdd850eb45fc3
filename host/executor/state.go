package executor

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/futurecalls/futurecalls/host/store"
)

// state serves the fc.state_get, fc.state_put and fc.state_delete requests of one
// running call. It remembers the version of every key the call read from the store
// (0 when the key had no value: an absent key counts as read) and buffers the call's
// writes, which its own reads see. The writes commit with the call's success, and only
// if none of the keys it read has changed meanwhile (store.Complete); a call that
// fails, traps or times out drops them with its other effects.
type state struct {
	store  *store.Store
	plugin string
	reads  map[string]int64
	writes map[string]store.StateWrite
}

func newState(s *store.Store, plugin string) state {
	return state{store: s, plugin: plugin, reads: map[string]int64{}, writes: map[string]store.StateWrite{}}
}

// StateGet returns the call's own write of key if it made one, else the committed
// value, whose version it remembers: the first version read of a key is the one the
// call's work rests on, so a later read that finds another version dooms the commit.
func (s *state) StateGet(ctx context.Context, key string) ([]byte, bool, error) {
	if w, ok := s.writes[key]; ok {
		return w.Value, !w.Delete, nil
	}
	value, version, err := s.store.StateGet(ctx, s.plugin, key)
	if err != nil {
		return nil, false, err
	}
	if _, seen := s.reads[key]; !seen {
		s.reads[key] = version
	}
	return value, version != 0, nil
}

// StatePut keeps the write of value under key.
func (s *state) StatePut(_ context.Context, key string, value []byte) error {
	s.writes[key] = store.StateWrite{Key: key, Value: value}
	return nil
}

// StateDelete keeps the deletion of key.
func (s *state) StateDelete(_ context.Context, key string) error {
	s.writes[key] = store.StateWrite{Key: key, Delete: true}
	return nil
}

// commit is what the call's success asks of the store, nil when the call wrote
// nothing (a call that only reads commits nothing, so it cannot conflict). keyLimit
// is the plugin's; retryAt is when to try the call again if the writes cannot commit.
func (s *state) commit(keyLimit int64, retryAt *time.Time) *store.StateCommit {
	if len(s.writes) == 0 {
		return nil
	}
	writes := make([]store.StateWrite, 0, len(s.writes))
	for _, k := range slices.Sorted(maps.Keys(s.writes)) {
		writes = append(writes, s.writes[k])
	}
	return &store.StateCommit{Reads: s.reads, Writes: writes, KeyLimit: keyLimit, RetryAt: retryAt}
}
