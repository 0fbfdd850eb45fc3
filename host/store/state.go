package store

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/futurecalls/futurecalls/abi"
)

// StateCommit is what a successful attempt asks of its plugin's state: its writes,
// committed with its outcome if no key it read has changed since (see Complete).
type StateCommit struct {
	// Reads are the versions of the keys the call read before writing them or others,
	// 0 for a key that had no value.
	Reads map[string]int64
	// Writes are the call's last write of each key it wrote, sorted by key.
	Writes []StateWrite
	// KeyLimit caps the keys the plugin may hold once the writes are applied; 0 means
	// no cap.
	KeyLimit int64
	// RetryAt is when to try the call again if its writes cannot commit; nil records
	// that failure as final.
	RetryAt *time.Time
	// Failed is set by Complete to the reason the writes did not commit, when they did
	// not: the attempt was then recorded as failed with this error.
	Failed string
}

// StateWrite sets a key's value, or deletes it.
type StateWrite struct {
	Key    string
	Value  []byte
	Delete bool
}

// StateEntry is one value of a plugin's state.
type StateEntry struct {
	Key   string
	Value []byte
	// Version changes with every write of the key.
	Version   int64
	UpdatedAt time.Time
}

// StateGet returns the committed value of plugin's key and its version, or version 0
// when the key has no value.
func (s *Store) StateGet(ctx context.Context, plugin, key string) (value []byte, version int64, err error) {
	err = s.pool.QueryRow(ctx, "SELECT value, version FROM plugin_state WHERE plugin = $1 AND key = $2", plugin, key).
		Scan(&value, &version)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("read state %s/%q: %w", plugin, key, err)
	}
	return value, version, nil
}

// StateEntry returns the committed value of plugin's key with its version and the
// time of its last write; version 0 when the key has no value.
func (s *Store) StateEntry(ctx context.Context, plugin, key string) (value []byte, version int64, updatedAt time.Time, err error) {
	err = s.pool.QueryRow(ctx, "SELECT value, version, updated_at FROM plugin_state WHERE plugin = $1 AND key = $2", plugin, key).
		Scan(&value, &version, &updatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, 0, time.Time{}, nil
	}
	if err != nil {
		return nil, 0, time.Time{}, fmt.Errorf("read state %s/%q: %w", plugin, key, err)
	}
	return value, version, updatedAt.UTC(), nil
}

// ListState returns plugin's state in key order (bytewise), one page at a time, bounded
// by p's rows and bytes (a value counts for 4/3 of its size, what base64 makes of it),
// with keyset pagination.
func (s *Store) ListState(ctx context.Context, plugin string, p Page) (entries []StateEntry, next string, err error) {
	after := ""
	if p.Cursor != "" {
		if after, err = decodeStateCursor(p.Cursor); err != nil {
			return nil, "", err
		}
	}
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT key, octet_length(key) + octet_length(value) * 4 / 3 FROM plugin_state
			WHERE plugin = $1 AND key > $2 ORDER BY key LIMIT $3`, plugin, after, p.limit()+1)
		if err != nil {
			return err
		}
		var keys []string
		var total int64
		var key string
		var size int64
		more := false
		_, err = pgx.ForEachRow(rows, []any{&key, &size}, func() error {
			size += rowOverheadBytes
			if more || len(keys) == p.limit() || (len(keys) > 0 && total+size > p.maxBytes()) {
				more = true
				return nil
			}
			keys = append(keys, key)
			total += size
			return nil
		})
		if err != nil || len(keys) == 0 {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT key, value, version, updated_at FROM plugin_state
			WHERE plugin = $1 AND key = ANY($2::text[]) ORDER BY key`, plugin, keys)
		if err != nil {
			return err
		}
		var e StateEntry
		_, err = pgx.ForEachRow(rows, []any{&e.Key, &e.Value, &e.Version, &e.UpdatedAt}, func() error {
			e.UpdatedAt = e.UpdatedAt.UTC()
			entries = append(entries, e)
			e = StateEntry{}
			return nil
		})
		if err == nil && more {
			next = encodeStateCursor(keys[len(keys)-1])
		}
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("list state of %s: %w", plugin, err)
	}
	return entries, next, nil
}

// State cursors carry a prefix, so that a cursor of another listing is refused here.
const stateCursorPrefix = "s"

func encodeStateCursor(key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(stateCursorPrefix + key))
}

func decodeStateCursor(c string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) < 2 || !strings.HasPrefix(string(b), stateCursorPrefix) || abi.CheckStateKey(string(b[1:])) != nil {
		return "", ErrBadCursor
	}
	return string(b[1:]), nil
}

// commitState commits the state writes of the successful outcomes among outcomes, in
// the transaction that records them, and returns the reasons of those that cannot
// commit, by index: their attempts are to be recorded as failed.
//
// The rows of the plugins concerned in plugin_state_keys are locked first, in name
// order (so that two hosts' transactions cannot deadlock), which makes the commits of
// one plugin's state happen one at a time: each sees the state the previous one
// committed. Only attempts whose claim host still holds commit anything: their calls
// are locked next, so no reaper can take them over before the outcomes are recorded,
// and an attempt whose claim was lost (the rule of Complete) writes nothing. A commit
// fails when a key its call read has another version now (a conflict), or when its
// writes would bring the plugin's keys over the limit. The outcomes are checked in
// batch order, each against the state the earlier ones leave, and the writes of those
// that commit go to the database together: the last write of each key wins.
func (s *Store) commitState(ctx context.Context, tx pgx.Tx, host string, outcomes []Outcome) (map[int]string, error) {
	byAttempt := map[int][]int64{}
	for _, o := range outcomes {
		if o.Kind == abi.OutcomeSucceeded && o.State != nil {
			o.State.Failed = ""
			byAttempt[o.Attempt] = append(byAttempt[o.Attempt], o.ID)
		}
	}
	if len(byAttempt) == 0 {
		return nil, nil
	}
	// The plugins' rows are locked before the calls', as every transaction that commits
	// state does: one that cancels another host's running call (applyEffects) while
	// holding a plugin's row must not wait for a call that host has locked while
	// waiting for that plugin's row.
	claims := func(lock string) (map[Attempt]string, error) {
		held := map[Attempt]string{}
		for _, attempt := range slices.Sorted(maps.Keys(byAttempt)) {
			rows, err := tx.Query(ctx, `SELECT c.id, c.plugin FROM future_call c WHERE `+ownClaims+` ORDER BY c.id`+lock,
				host, byAttempt[attempt], attempt)
			if err != nil {
				return nil, err
			}
			var id int64
			var plugin string
			if _, err := pgx.ForEachRow(rows, []any{&id, &plugin}, func() error {
				held[Attempt{ID: id, Attempt: attempt}] = plugin
				return nil
			}); err != nil {
				return nil, err
			}
		}
		return held, nil
	}
	held, err := claims("")
	if err != nil || len(held) == 0 {
		return nil, err
	}
	plugins := slices.Compact(slices.Sorted(maps.Values(held)))
	keys := map[string]int64{}
	rows, err := tx.Query(ctx, `INSERT INTO plugin_state_keys AS k (plugin)
		SELECT p FROM unnest($1::text[]) AS p ORDER BY p
		ON CONFLICT (plugin) DO UPDATE SET keys = k.keys
		RETURNING plugin, keys`, plugins)
	if err != nil {
		return nil, err
	}
	var plugin string
	var count int64
	if _, err := pgx.ForEachRow(rows, []any{&plugin, &count}, func() error {
		keys[plugin] = count
		return nil
	}); err != nil {
		return nil, fmt.Errorf("lock the state of plugins %v: %w", plugins, err)
	}
	// Now the claims, locked: no reaper takes them over before they are recorded.
	if held, err = claims(" FOR UPDATE"); err != nil {
		return nil, err
	}
	var commits []int // the outcomes whose claim holds, in batch order
	var touchedPlugins, touchedKeys []string
	for i, o := range outcomes {
		plugin, ok := held[attemptOf(o)]
		if !ok || o.Kind != abi.OutcomeSucceeded || o.State == nil {
			continue
		}
		commits = append(commits, i)
		for k := range o.State.Reads {
			touchedPlugins, touchedKeys = append(touchedPlugins, plugin), append(touchedKeys, k)
		}
		for _, w := range o.State.Writes {
			touchedPlugins, touchedKeys = append(touchedPlugins, plugin), append(touchedKeys, w.Key)
		}
	}
	versions, err := stateVersions(ctx, tx, touchedPlugins, touchedKeys)
	if err != nil {
		return nil, err
	}
	failed := map[int]string{}
	pending := newPendingWrites()
	for _, i := range commits {
		o := outcomes[i]
		plugin := held[attemptOf(o)]
		if reason := checkCommit(plugin, o.State, versions, keys[plugin]); reason != "" {
			failed[i], o.State.Failed = reason, reason
			continue
		}
		keys[plugin] += pending.add(plugin, o.State.Writes, versions)
	}
	if err := pending.apply(ctx, tx); err != nil {
		return nil, fmt.Errorf("write state: %w", err)
	}
	counts := make([]int64, len(plugins))
	for i, p := range plugins {
		counts[i] = keys[p]
	}
	_, err = tx.Exec(ctx, `UPDATE plugin_state_keys k SET keys = u.keys
		FROM unnest($1::text[], $2::bigint[]) AS u(plugin, keys) WHERE k.plugin = u.plugin`, plugins, counts)
	return failed, err
}

// stateKey names one key of one plugin's state.
type stateKey struct{ plugin, key string }

// changedInBatch is the version of a key written by an earlier outcome of the batch
// being committed: a version no call can have read.
const changedInBatch = -1

// stateVersions reads the current version of the given keys (pairs of plugins and
// keys); a key without a value is absent from the answer.
func stateVersions(ctx context.Context, tx pgx.Tx, plugins, keys []string) (map[stateKey]int64, error) {
	versions := map[stateKey]int64{}
	if len(keys) == 0 {
		return versions, nil
	}
	rows, err := tx.Query(ctx, `SELECT s.plugin, s.key, s.version FROM plugin_state s
		JOIN (SELECT DISTINCT * FROM unnest($1::text[], $2::text[]) AS t(plugin, key)) t ON s.plugin = t.plugin AND s.key = t.key`,
		plugins, keys)
	if err != nil {
		return nil, err
	}
	var k stateKey
	var version int64
	if _, err := pgx.ForEachRow(rows, []any{&k.plugin, &k.key, &version}, func() error {
		versions[k] = version
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read state versions: %w", err)
	}
	return versions, nil
}

// checkCommit says why a call's writes cannot commit onto plugin's state, which holds
// count keys and whose keys have versions (0 or absent: no value), or "" when they
// can: a key it read has another version now (a conflict), or its writes would exceed
// its key limit.
func checkCommit(plugin string, c *StateCommit, versions map[stateKey]int64, count int64) string {
	for _, k := range slices.Sorted(maps.Keys(c.Reads)) {
		if versions[stateKey{plugin, k}] != c.Reads[k] {
			return fmt.Sprintf("state conflict on key %q: another call changed it after this one read it", k)
		}
	}
	if delta := keyDelta(plugin, c.Writes, versions); c.KeyLimit > 0 && delta > 0 && count+delta > c.KeyLimit {
		return fmt.Sprintf("state key limit: the writes of this call would bring plugin %s to %d keys, over its limit of %d (sandbox.state.keyLimit)",
			plugin, count+delta, c.KeyLimit)
	}
	return ""
}

// keyDelta is how many keys writes add to plugin's state (negative: remove).
func keyDelta(plugin string, writes []StateWrite, versions map[stateKey]int64) int64 {
	var delta int64
	for _, w := range writes {
		exists := versions[stateKey{plugin, w.Key}] != 0
		switch {
		case w.Delete && exists:
			delta--
		case !w.Delete && !exists:
			delta++
		}
	}
	return delta
}

// pendingWrites are the last writes of each key by the outcomes of a batch that
// commit, written in two statements once all are known.
type pendingWrites struct{ last map[stateKey]StateWrite }

func newPendingWrites() *pendingWrites { return &pendingWrites{last: map[stateKey]StateWrite{}} }

// add takes one call's writes to plugin's state, marks their keys in versions as the
// later outcomes of the batch will find them, and returns the change in its keys.
func (p *pendingWrites) add(plugin string, writes []StateWrite, versions map[stateKey]int64) int64 {
	delta := keyDelta(plugin, writes, versions)
	for _, w := range writes {
		k := stateKey{plugin, w.Key}
		p.last[k] = w
		if w.Delete {
			delete(versions, k)
		} else {
			versions[k] = changedInBatch
		}
	}
	return delta
}

// apply writes the pending writes: each put gets a new version.
func (p *pendingWrites) apply(ctx context.Context, tx pgx.Tx) error {
	var putPlugins, putKeys, deletePlugins, deleteKeys []string
	var values [][]byte
	for _, k := range slices.SortedFunc(maps.Keys(p.last), func(a, b stateKey) int {
		return cmp.Or(strings.Compare(a.plugin, b.plugin), strings.Compare(a.key, b.key))
	}) {
		if w := p.last[k]; w.Delete {
			deletePlugins, deleteKeys = append(deletePlugins, k.plugin), append(deleteKeys, k.key)
		} else {
			putPlugins, putKeys, values = append(putPlugins, k.plugin), append(putKeys, k.key), append(values, w.Value)
		}
	}
	if len(putKeys) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO plugin_state (plugin, key, value, version, updated_at)
			SELECT w.plugin, w.key, w.value, nextval('plugin_state_version'), now()
			FROM unnest($1::text[], $2::text[], $3::bytea[]) AS w(plugin, key, value)
			ON CONFLICT (plugin, key) DO UPDATE SET value = excluded.value, version = excluded.version, updated_at = excluded.updated_at`,
			putPlugins, putKeys, values); err != nil {
			return err
		}
	}
	if len(deleteKeys) > 0 {
		if _, err := tx.Exec(ctx, `DELETE FROM plugin_state s USING unnest($1::text[], $2::text[]) AS d(plugin, key)
			WHERE s.plugin = d.plugin AND s.key = d.key`, deletePlugins, deleteKeys); err != nil {
			return err
		}
	}
	return nil
}

// StateKeys returns how many keys plugin's state holds, as counted for the key limit.
func (s *Store) StateKeys(ctx context.Context, plugin string) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, "SELECT coalesce((SELECT keys FROM plugin_state_keys WHERE plugin = $1), 0)", plugin).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count the state keys of %s: %w", plugin, err)
	}
	return n, nil
}
