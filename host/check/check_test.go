package check_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/abi/signature"
	"github.com/futurecalls/futurecalls/host/check"
	"github.com/futurecalls/futurecalls/host/internal/testdb"
	"github.com/futurecalls/futurecalls/host/request"
	"github.com/futurecalls/futurecalls/host/store"
)

func param(name, schema string) abi.Param {
	return abi.Param{Name: name, Schema: json.RawMessage(schema)}
}

// mailV1 is the plugin as it was when the calls were scheduled.
var mailV1 = []abi.Method{
	{Name: "ping", Params: []abi.Param{}},
	{Name: "send", Params: []abi.Param{param("to", `{"type": "string"}`), param("count", `{"type": "integer"}`)}},
	{Name: "welcome", Params: []abi.Param{param("user", `{"type": "object",
		"properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
		"required": ["id", "name"], "additionalProperties": false}`)}},
}

// with returns mailV1 with the method of def's name replaced by def, or without it
// when def has no params (nil).
func with(def abi.Method) []abi.Method {
	var out []abi.Method
	for _, m := range mailV1 {
		if m.Name != def.Name {
			out = append(out, m)
		} else if def.Params != nil {
			out = append(out, def)
		}
	}
	return out
}

// schedule stores calls that fit cat, prepared as the API prepares them, and returns
// their ids.
func schedule(t *testing.T, s *store.Store, cat catalog, reqs ...abi.ScheduleRequest) []int64 {
	t.Helper()
	var calls []store.NewCall
	for _, req := range reqs {
		c, err := request.Prepare(cat, req, time.Now())
		if err != nil {
			t.Fatalf("schedule %s.%s%s: %v", req.Plugin, req.Method, req.Args, err)
		}
		calls = append(calls, c)
	}
	stored, err := s.ScheduleBatch(ctx, calls)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]int64, len(stored))
	for i, c := range stored {
		ids[i] = c.ID
	}
	return ids
}

func req(method, args string) abi.ScheduleRequest {
	return abi.ScheduleRequest{Plugin: "mail", Method: method, Args: json.RawMessage(args), Delay: "1h"}
}

// fine are calls of mailV1 that every candidate below leaves unbroken, except where a
// test case says otherwise.
var fine = []abi.ScheduleRequest{req("ping", `{}`)}

func TestRunFindsEachKindOfBrokenCall(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		calls []abi.ScheduleRequest
		now   map[string][]abi.Method
		want  check.Group // without SampleIDs: the ids of calls
	}{{
		name:  "plugin removed",
		calls: []abi.ScheduleRequest{req("send", `{"to": "a", "count": 1}`), req("welcome", `{"user": {"id": 1, "name": "a"}}`)},
		now:   map[string][]abi.Method{"other": {{Name: "ping", Params: []abi.Param{}}}},
		want:  check.Group{Plugin: "mail", Method: "send", Kind: check.PluginMissing, Reason: `plugin "mail" is not loaded on this host`},
	}, {
		name:  "method removed",
		calls: []abi.ScheduleRequest{req("send", `{"to": "a", "count": 1}`), req("send", `{"to": "b", "count": 2}`)},
		now:   map[string][]abi.Method{"mail": with(abi.Method{Name: "send"})},
		want:  check.Group{Plugin: "mail", Method: "send", Kind: check.MethodMissing, Reason: `plugin "mail" has no method "send"`},
	}, {
		name:  "parameter renamed",
		calls: []abi.ScheduleRequest{req("send", `{"to": "a", "count": 1}`), req("send", `{"to": "b", "count": 2}`)},
		now: map[string][]abi.Method{"mail": with(abi.Method{Name: "send",
			Params: []abi.Param{param("recipient", `{"type": "string"}`), param("count", `{"type": "integer"}`)}})},
		want: check.Group{Plugin: "mail", Method: "send", Kind: check.ArgsMismatch,
			Reason: "arguments do not fit the signature of send: /recipient: missing required parameter; /to: unknown parameter",
			Violations: []signature.Violation{
				{Pointer: "/recipient", Message: "missing required parameter"},
				{Pointer: "/to", Message: "unknown parameter"},
			}},
	}, {
		name:  "parameter removed",
		calls: []abi.ScheduleRequest{req("send", `{"to": "a", "count": 1}`)},
		now:   map[string][]abi.Method{"mail": with(abi.Method{Name: "send", Params: []abi.Param{param("to", `{"type": "string"}`)}})},
		want: check.Group{Plugin: "mail", Method: "send", Kind: check.ArgsMismatch,
			Reason:     "arguments do not fit the signature of send: /count: unknown parameter",
			Violations: []signature.Violation{{Pointer: "/count", Message: "unknown parameter"}}},
	}, {
		name:  "type changed",
		calls: []abi.ScheduleRequest{req("send", `{"to": "a", "count": 1}`), req("send", `{"to": "b", "count": 2}`)},
		now: map[string][]abi.Method{"mail": with(abi.Method{Name: "send",
			Params: []abi.Param{param("to", `{"type": "string"}`), param("count", `{"type": "string"}`)}})},
		want: check.Group{Plugin: "mail", Method: "send", Kind: check.ArgsMismatch,
			Reason:     "arguments do not fit the signature of send: /count: got number, want string",
			Violations: []signature.Violation{{Pointer: "/count", Message: "got number, want string"}}},
	}, {
		name:  "nested record field renamed",
		calls: []abi.ScheduleRequest{req("welcome", `{"user": {"id": 1, "name": "a"}}`), req("welcome", `{"user": {"id": 2, "name": "b"}}`)},
		now: map[string][]abi.Method{"mail": with(abi.Method{Name: "welcome", Params: []abi.Param{param("user", `{"type": "object",
			"properties": {"id": {"type": "integer"}, "fullName": {"type": "string"}},
			"required": ["id", "fullName"], "additionalProperties": false}`)}})},
		want: check.Group{Plugin: "mail", Method: "welcome", Kind: check.ArgsMismatch,
			Reason: "arguments do not fit the signature of welcome: /user/fullName: missing required property; /user/name: property not allowed",
			Violations: []signature.Violation{
				{Pointer: "/user/fullName", Message: "missing required property"},
				{Pointer: "/user/name", Message: "property not allowed"},
			}},
	}, {
		name:  "nested record field type changed",
		calls: []abi.ScheduleRequest{req("welcome", `{"user": {"id": 1, "name": "a"}}`)},
		now: map[string][]abi.Method{"mail": with(abi.Method{Name: "welcome", Params: []abi.Param{param("user", `{"type": "object",
			"properties": {"id": {"type": "string"}, "name": {"type": "string"}}, "required": ["id", "name"]}`)}})},
		want: check.Group{Plugin: "mail", Method: "welcome", Kind: check.ArgsMismatch,
			Reason:     "arguments do not fit the signature of welcome: /user/id: got number, want string",
			Violations: []signature.Violation{{Pointer: "/user/id", Message: "got number, want string"}}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := testdb.Store(t, store.Options{})
			old := compile(t, map[string][]abi.Method{"mail": mailV1})
			ids := schedule(t, s, old, tt.calls...)
			okIDs := schedule(t, s, old, fine...)
			now := compile(t, tt.now)
			if tt.want.Kind == check.PluginMissing {
				// Every call of the plugin is unavailable here, grouped per method.
				okIDs = nil
			}

			r, err := check.Run(ctx, check.Options{Store: s, Signatures: now})
			if err != nil {
				t.Fatal(err)
			}
			if want := int64(len(ids) + len(fine)); r.Checked != want {
				t.Errorf("checked %d calls, want %d", r.Checked, want)
			}
			var got *check.Group
			var found int64
			for i, g := range r.Groups {
				found += g.Count
				if g.Method == tt.want.Method {
					got = &r.Groups[i]
				}
				for _, id := range okIDs {
					if slices.Contains(g.SampleIDs, id) {
						t.Errorf("call %d fits the new signature, but is in group %+v", id, g)
					}
				}
			}
			if got == nil {
				t.Fatalf("no group for %s in %+v", tt.want.Method, r.Groups)
			}
			want := tt.want
			for i, c := range tt.calls {
				if c.Method == want.Method {
					want.SampleIDs = append(want.SampleIDs, ids[i])
				}
			}
			want.Count = int64(len(want.SampleIDs))
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("group =\n%+v\nwant\n%+v", *got, want)
			}
			// A call whose plugin is not loaded here is not broken: it is unavailable here.
			wantFound := int64(len(tt.calls) + len(fine) - len(okIDs))
			wantBroken, wantUnavailable := wantFound, int64(0)
			if tt.want.Kind == check.PluginMissing {
				wantBroken, wantUnavailable = 0, wantFound
			}
			if r.Broken != wantBroken || r.Unavailable != wantUnavailable || found != wantFound {
				t.Errorf("broken = %d, unavailable = %d, groups count %d; want %d, %d, %d",
					r.Broken, r.Unavailable, found, wantBroken, wantUnavailable, wantFound)
			}
			if r.Deleted != 0 {
				t.Errorf("deleted %d calls without being asked to", r.Deleted)
			}
			if n, err := s.CountUpTo(ctx, 100); err != nil || n != len(ids)+len(fine) {
				t.Errorf("%d calls stored after the check (%v), want all %d", n, err, len(ids)+len(fine))
			}
		})
	}
}

func TestRunOfFittingCalls(t *testing.T) {
	t.Parallel()
	s := testdb.Store(t, store.Options{})
	old := compile(t, map[string][]abi.Method{"mail": mailV1})
	schedule(t, s, old, req("send", `{"to": "a", "count": 1}`), req("welcome", `{"user": {"id": 1, "name": "a"}}`), req("ping", `{}`))
	// A new optional parameter breaks nothing.
	now := compile(t, map[string][]abi.Method{"mail": with(abi.Method{Name: "send", Params: []abi.Param{
		param("to", `{"type": "string"}`), param("count", `{"type": "integer"}`),
		{Name: "cc", Schema: json.RawMessage(`{"type": "string"}`), Optional: true}}})})
	r, err := check.Run(ctx, check.Options{Store: s, Signatures: now, Delete: true, Host: "h"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Checked != 3 || r.Broken != 0 || r.Deleted != 0 || len(r.Groups) != 0 || r.Groups == nil {
		t.Errorf("report = %+v, want 3 checked, nothing broken, empty groups", r)
	}
}

func TestRunSamplesTheLowestIDs(t *testing.T) {
	t.Parallel()
	s := testdb.Store(t, store.Options{})
	old := compile(t, map[string][]abi.Method{"mail": mailV1})
	var reqs []abi.ScheduleRequest
	for i := range 3000 {
		reqs = append(reqs, req("send", fmt.Sprintf(`{"to": "u%d", "count": %d}`, i, i)))
	}
	ids := schedule(t, s, old, reqs...)
	for _, workers := range []int{1, 3} {
		r, err := check.Run(ctx, check.Options{Store: s, Signatures: compile(t, nil), SampleIDs: 3, Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Groups) != 1 || r.Groups[0].Count != 3000 || !slices.Equal(r.Groups[0].SampleIDs, ids[:3]) {
			t.Errorf("%d workers: groups = %+v, want one of 3000 calls with samples %v", workers, r.Groups, ids[:3])
		}
	}
}

// historyRows returns the history rows of outcome deleted_broken: call id → error.
func historyRows(t *testing.T, s *store.Store) map[int64]string {
	t.Helper()
	rows, err := s.Pool().Query(ctx, "SELECT call_id, error, host FROM future_call_history WHERE outcome = 'deleted_broken'")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int64]string{}
	for rows.Next() {
		var id int64
		var reason, host string
		if err := rows.Scan(&id, &reason, &host); err != nil {
			t.Fatal(err)
		}
		if host != "checker-1" {
			t.Errorf("history row of call %d recorded by %q, want checker-1", id, host)
		}
		out[id] = reason
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRunDeletesBrokenCallsIntoTheHistory deletes the broken calls, and only when asked
// separately the calls whose plugin is merely not loaded here: those wait for a host
// that has it, as during a rolling deploy.
func TestRunDeletesBrokenCallsIntoTheHistory(t *testing.T) {
	t.Parallel()
	s := testdb.Store(t, store.Options{})
	old := compile(t, map[string][]abi.Method{"mail": mailV1, "gone": {{Name: "ping", Params: []abi.Param{}}}})
	// The first broken call is due and being run by a host: the check leaves it alone.
	running := schedule(t, s, old, abi.ScheduleRequest{Plugin: "mail", Method: "send", Args: json.RawMessage(`{"to": "r", "count": 0}`)})[0]
	if claimed, err := s.Claim(ctx, "runner", 10, time.Minute, []string{"mail", "gone"}); err != nil || len(claimed) != 1 {
		t.Fatalf("claim = %v, %v", claimed, err)
	}
	// More broken calls than one delete batch holds.
	var reqs []abi.ScheduleRequest
	for i := range 1500 {
		reqs = append(reqs, req("send", fmt.Sprintf(`{"to": "u%d", "count": %d}`, i, i)))
	}
	sends := schedule(t, s, old, reqs...)
	gone := schedule(t, s, old, abi.ScheduleRequest{Plugin: "gone", Method: "ping", Delay: "1h"})[0]
	kept := schedule(t, s, old, req("ping", `{}`), req("welcome", `{"user": {"id": 1, "name": "a"}}`))

	now := compile(t, map[string][]abi.Method{"mail": with(abi.Method{Name: "send",
		Params: []abi.Param{param("to", `{"type": "string"}`), param("count", `{"type": "string"}`)}})})
	r, err := check.Run(ctx, check.Options{Store: s, Signatures: now, Delete: true, Host: "checker-1"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Broken != 1501 || r.Unavailable != 1 || r.Deleted != 1500 {
		t.Errorf("broken %d, unavailable %d, deleted %d: want 1501, 1 and 1500 (the broken calls but the running one)",
			r.Broken, r.Unavailable, r.Deleted)
	}
	hist := historyRows(t, s)
	if len(hist) != 1500 {
		t.Errorf("%d history rows, want 1500", len(hist))
	}
	if want := "arguments do not fit the signature of send: /count: got number, want string"; hist[sends[7]] != want {
		t.Errorf("history of call %d: %q, want %q", sends[7], hist[sends[7]], want)
	}
	if _, ok := hist[gone]; ok {
		t.Errorf("call %d, whose plugin is only not loaded here, was deleted as broken", gone)
	}
	if _, ok := hist[running]; ok {
		t.Errorf("the running call %d was deleted", running)
	}
	var left []int64
	err = s.EachArgs(ctx, func(c store.CallArgs) error { left = append(left, c.ID); return nil })
	if want := append([]int64{running, gone}, kept...); err != nil || !slices.Equal(left, want) {
		t.Errorf("calls left: %v (%v), want %v", left, err, want)
	}

	// The operator says the plugin is gone for good.
	r, err = check.Run(ctx, check.Options{Store: s, Signatures: now, DeleteUnavailable: true, Host: "checker-1"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Broken != 1 || r.Unavailable != 1 || r.Deleted != 1 {
		t.Errorf("broken %d, unavailable %d, deleted %d: want 1, 1 and 1 (the unavailable call)", r.Broken, r.Unavailable, r.Deleted)
	}
	if want := `plugin "gone" is not loaded on this host`; historyRows(t, s)[gone] != want {
		t.Errorf("history of call %d: %q, want %q", gone, historyRows(t, s)[gone], want)
	}
}

func TestReportJSON(t *testing.T) {
	t.Parallel()
	s := testdb.Store(t, store.Options{})
	old := compile(t, map[string][]abi.Method{"mail": mailV1})
	ids := schedule(t, s, old, req("send", `{"to": "a", "count": 1}`), req("ping", `{}`))
	now := compile(t, map[string][]abi.Method{"mail": with(abi.Method{Name: "send",
		Params: []abi.Param{param("to", `{"type": "string"}`), param("count", `{"type": "string"}`)}})})
	r, err := check.Run(ctx, check.Options{Store: s, Signatures: now})
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	took, err := time.ParseDuration(doc["duration"].(string))
	if err != nil || took <= 0 || took != time.Duration(r.Duration) {
		t.Errorf("duration %v (%v), want %v", doc["duration"], err, r.Duration)
	}
	delete(doc, "duration")
	want := map[string]any{
		"checked": 2.0, "broken": 1.0, "unavailable": 0.0, "deleted": 0.0,
		"groups": []any{map[string]any{
			"plugin": "mail", "method": "send", "kind": "args_mismatch", "count": 1.0,
			"sampleIds":  []any{float64(ids[0])},
			"reason":     "arguments do not fit the signature of send: /count: got number, want string",
			"violations": []any{map[string]any{"pointer": "/count", "message": "got number, want string"}},
		}},
	}
	if !reflect.DeepEqual(doc, want) {
		t.Errorf("report JSON =\n%s\nwant the shape of\n%v", out, want)
	}
	var back check.Report
	if err := json.Unmarshal(out, &back); err != nil || !reflect.DeepEqual(back, r) {
		t.Errorf("report does not survive JSON: %+v (%v), want %+v", back, err, r)
	}

	empty, err := json.Marshal(check.Report{Groups: []check.Group{}})
	if err != nil || string(empty) != `{"checked":0,"broken":0,"unavailable":0,"deleted":0,"duration":"0s","groups":[]}` {
		t.Errorf("empty report = %s (%v)", empty, err)
	}
}

func TestReportLogWarnsOncePerGroup(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		report check.Report
		want   []string // "LEVEL message" per line
	}{{
		name:   "nothing broken",
		report: check.Report{Checked: 3, Groups: []check.Group{}},
		want:   []string{"INFO checked stored calls: none is broken"},
	}, {
		name: "two groups",
		report: check.Report{Checked: 9, Broken: 5, Groups: []check.Group{
			{Plugin: "a", Method: "x", Kind: check.MethodMissing, Count: 2, SampleIDs: []int64{1, 2}, Reason: "r"},
			{Plugin: "b", Method: "y", Kind: check.ArgsMismatch, Count: 3, SampleIDs: []int64{3, 4, 5}, Reason: "r"},
		}},
		want: []string{"WARN broken future calls", "WARN broken future calls", "WARN checked stored calls: some are broken"},
	}, {
		name: "unavailable only",
		report: check.Report{Checked: 9, Unavailable: 3, Groups: []check.Group{
			{Plugin: "b", Method: "y", Kind: check.PluginMissing, Count: 3, SampleIDs: []int64{3, 4, 5}, Reason: "r"},
		}},
		want: []string{"WARN future calls unavailable here: they wait for a host that has their plugin",
			"WARN checked stored calls: none is broken, some are unavailable here"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			tt.report.Log(slog.New(slog.NewJSONHandler(&buf, nil)))
			var got []string
			for line := range strings.Lines(buf.String()) {
				var rec struct{ Level, Msg string }
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Fatal(err)
				}
				got = append(got, rec.Level+" "+rec.Msg)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("log = %q, want %q", got, tt.want)
			}
			if len(tt.report.Groups) > 0 && !strings.Contains(buf.String(), `"sampleIds":[3,4,5]`) {
				t.Errorf("log lacks the sample ids: %s", buf.String())
			}
		})
	}
}
