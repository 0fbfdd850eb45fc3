package check_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/check"
	"github.com/futurecalls/futurecalls/host/internal/testdb"
	"github.com/futurecalls/futurecalls/host/store"
)

// shop is the benchmark's plugin: five methods whose arguments range from none to a
// nested record with lists, patterns and formats.
var shop = []abi.Method{
	{Name: "ping", Params: []abi.Param{}},
	{Name: "remind", Params: []abi.Param{
		{Name: "userId", Schema: json.RawMessage(`{"type": "integer", "minimum": 1}`)},
		{Name: "text", Schema: json.RawMessage(`{"type": "string", "maxLength": 200}`)},
	}},
	{Name: "welcome", Params: []abi.Param{
		{Name: "signup", Schema: json.RawMessage(`{"type": "object",
			"properties": {"userId": {"type": "integer"}, "email": {"type": "string", "format": "email"},
				"plan": {"type": "string", "enum": ["free", "pro"]}},
			"required": ["userId", "email", "plan"], "additionalProperties": false}`)},
		{Name: "note", Schema: json.RawMessage(`{"type": "string"}`), Optional: true},
	}},
	{Name: "tag", Params: []abi.Param{
		{Name: "userId", Schema: json.RawMessage(`{"type": "integer"}`)},
		{Name: "tags", Schema: json.RawMessage(`{"type": "array", "items": {"type": "string"}, "uniqueItems": true}`)},
		{Name: "weights", Schema: json.RawMessage(`{"type": "object", "additionalProperties": {"type": "number"}}`)},
	}},
	{Name: "ship", Params: []abi.Param{
		{Name: "order", Schema: json.RawMessage(`{"type": "object",
			"properties": {
				"id": {"type": "string"},
				"items": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/item"}},
				"address": {"type": "object",
					"properties": {"street": {"type": "string"}, "zip": {"type": "string", "pattern": "^[0-9]{5}$"},
						"country": {"type": "string", "enum": ["DE", "FR", "NL"]}},
					"required": ["street", "zip", "country"]}},
			"required": ["id", "items", "address"],
			"$defs": {"item": {"type": "object",
				"properties": {"sku": {"type": "string", "pattern": "^SKU-[0-9]+$"}, "qty": {"type": "integer", "minimum": 1}},
				"required": ["sku", "qty"]}}}`)},
	}},
}

// loadShop stores n calls of the shop plugin, spread evenly over its five methods, with
// arguments that differ from call to call. One "ship" call in a thousand has a quantity
// that is a string, so a thousandth of the calls are broken.
func loadShop(tb testing.TB, s *store.Store, n int) {
	tb.Helper()
	_, err := s.Pool().Exec(ctx, `
		INSERT INTO future_call (plugin, method, args, run_at)
		SELECT 'shop', (ARRAY['ping', 'remind', 'welcome', 'tag', 'ship'])[i % 5 + 1],
			CASE i % 5
			WHEN 0 THEN '{}'::jsonb
			WHEN 1 THEN jsonb_build_object('userId', i, 'text', 'remember the order ' || i)
			WHEN 2 THEN jsonb_build_object(
				'signup', jsonb_build_object('userId', i, 'email', 'user' || i || '@example.com',
					'plan', (ARRAY['free', 'pro'])[i % 2 + 1]),
				'note', 'joined via campaign ' || (i % 97))
			WHEN 3 THEN jsonb_build_object('userId', i,
				'tags', jsonb_build_array('t' || (i % 7), 't' || (i % 7 + 1), 'u' || (i % 13)),
				'weights', jsonb_build_object('a', i % 10, 'b', (i % 100) / 10.0))
			ELSE jsonb_build_object('order', jsonb_build_object(
				'id', 'o-' || i,
				'items', jsonb_build_array(
					jsonb_build_object('sku', 'SKU-' || (i % 5000), 'qty', CASE WHEN i % 1000 = 4 THEN to_jsonb('two'::text) ELSE to_jsonb(1 + i % 3) END),
					jsonb_build_object('sku', 'SKU-' || (i % 321), 'qty', 1)),
				'address', jsonb_build_object('street', (i % 300) || ' Main Street',
					'zip', lpad((i % 100000)::text, 5, '0'), 'country', (ARRAY['DE', 'FR', 'NL'])[i % 3 + 1])))
			END,
			now() + i * interval '1 second'
		FROM generate_series(1, $1::int) AS i`, n)
	if err != nil {
		tb.Fatalf("load %d calls: %v", n, err)
	}
	// Set hint bits and statistics now, as autovacuum would have long ago on a live
	// schedule, so that the first check does not pay for them.
	if _, err := s.Pool().Exec(ctx, "VACUUM (ANALYZE) future_call"); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkCheckMillion checks 1,000,000 stored calls over five methods (a thousandth of
// them broken) on a real PostgreSQL and compares the time with a bare stream of the same
// rows (SELECT id, plugin, method, args, no validation), measured in the same run:
//
//	go test ./host/check -run '^$' -bench BenchmarkCheckMillion -benchtime 1x
//
// Metrics: s/check and calls/s of the check, s/stream of the bare stream, and
// x-stream, the ratio of the two (absolute times drift from machine to machine; the
// ratio says what validation adds to reading).
func BenchmarkCheckMillion(b *testing.B) {
	const n = 1_000_000
	s := testdb.Store(b, store.Options{})
	loadShop(b, s, n)
	sigs := compile(b, map[string][]abi.Method{"shop": shop})

	stream := bareStream(b, s)
	var took time.Duration
	b.ReportAllocs()
	for b.Loop() {
		r, err := check.Run(ctx, check.Options{Store: s, Signatures: sigs})
		if err != nil {
			b.Fatal(err)
		}
		if r.Checked != n || r.Broken != n/1000 {
			b.Fatalf("checked %d, broken %d: want %d and %d", r.Checked, r.Broken, n, n/1000)
		}
		took += time.Duration(r.Duration)
	}
	per := took.Seconds() / float64(b.N)
	b.ReportMetric(per, "s/check")
	b.ReportMetric(n/per, "calls/s")
	b.ReportMetric(stream.Seconds(), "s/stream")
	b.ReportMetric(per/stream.Seconds(), "x-stream")
}

// bareStream times the fastest read of every call's id, plugin, method and arguments:
// one query, no validation, nothing decoded. It is the best of three runs.
func bareStream(b *testing.B, s *store.Store) time.Duration {
	b.Helper()
	best := time.Duration(1 << 62)
	for range 3 {
		start := time.Now()
		rows, err := s.Pool().Query(ctx, "SELECT id, plugin, method, args FROM future_call")
		if err != nil {
			b.Fatal(err)
		}
		var bytes int
		for rows.Next() {
			for _, v := range rows.RawValues() {
				bytes += len(v)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			b.Fatal(err)
		}
		if bytes == 0 {
			b.Fatal("bare stream read nothing")
		}
		best = min(best, time.Since(start))
	}
	return best
}
