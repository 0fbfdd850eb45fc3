package plugin_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/abi/signature"
	"github.com/futurecalls/futurecalls/host/internal/testplugins"
	"github.com/futurecalls/futurecalls/host/plugin"
)

func TestInvokeExample(t *testing.T) {
	t.Parallel()
	regCapt, regLog := newCapture()
	reg := load(t, plugin.Config{Dir: testplugins.DirWith(t, testplugins.Example(t, "example"))}, regLog)
	p := mustPlugin(t, reg, "example")
	// Without a logger of its own, a call logs to the registry's, tagged.
	invokeOK(t, p, "doWork", `{}`, nil, nil)
	l := regCapt.want(t, "doWork: call 4711")
	if l.level != slog.LevelInfo || l.attrs["plugin"] != "example" || l.attrs["method"] != "doWork" {
		t.Errorf("log line %+v: want info, tagged with plugin and method", l)
	}
	capt, log := newCapture()
	invokeOK(t, p, "doWork", `{}`, nil, log.With("call", 4711))
	if l := capt.want(t, "doWork: call 4711"); l.attrs["call"] != "4711" {
		t.Errorf("log line %+v: want it in the caller's logger", l)
	}
	invokeOK(t, p, "doOtherWork", `{"data": "1"}`, nil, log)
	capt.want(t, "doOtherWork: 1")
	// Absent arguments mean none.
	if err := p.Invoke(context.Background(), abi.Envelope{Method: "doWork"}, nil, log); err != nil {
		t.Errorf("doWork without args: %v", err)
	}
}

func TestInvokeDrip(t *testing.T) {
	t.Parallel()
	reg := loadPlugins(t, plugin.Limits{}, "example:drip")
	p := mustPlugin(t, reg, "drip")
	capt, log := newCapture()
	rec := &recorder{cancelCount: 1}
	invokeOK(t, p, "welcome", `{"signup": {"userId": 42, "email": "ada@example.com", "plan": "pro"}, "note": "hi"}`, rec, log)
	capt.want(t, "welcome e-mail to ada@example.com (user 42, plan pro): hi")
	if len(rec.cancelled) != 1 || rec.cancelled[0] != "drip-user-42" {
		t.Errorf("cancelled %q, want drip-user-42", rec.cancelled)
	}
	if len(rec.scheduled) != 1 {
		t.Fatalf("scheduled %q, want one follow-up", rec.scheduled)
	}
	var req abi.ScheduleRequest
	if err := json.Unmarshal([]byte(rec.scheduled[0]), &req); err != nil {
		t.Fatal(err)
	}
	if req.Method != "followUp" || req.Delay != "3d" || req.Identifier != "drip-user-42" {
		t.Errorf("follow-up %s: want followUp in 3d as drip-user-42", rec.scheduled[0])
	}
	// The follow-up's arguments fit the signature they will be run against.
	followUp, _ := p.Method("followUp")
	if err := followUp.Validate(req.Args); err != nil {
		t.Errorf("follow-up arguments: %v", err)
	}
	invokeOK(t, p, "followUp", string(req.Args), rec, log)
	capt.want(t, "follow-up e-mail to ada@example.com")
}

// TestInvokeBroken: arguments that do not fit are refused before any guest code runs,
// listing every violation.
func TestInvokeBroken(t *testing.T) {
	t.Parallel()
	reg := loadPlugins(t, plugin.Limits{}, "example:drip", "probe")
	drip, probe := mustPlugin(t, reg, "drip"), mustPlugin(t, reg, "probe")
	tests := []struct {
		name   string
		p      *plugin.Plugin
		method string
		args   string
		want   []signature.Violation // nil: not a signature error
		msg    string
	}{
		{name: "unknown method", p: drip, method: "nope", args: `{}`, msg: `plugin drip has no call "nope"`},
		{name: "missing", p: drip, method: "welcome", args: `{}`,
			want: []signature.Violation{{Pointer: "/signup", Message: "missing required parameter"}}},
		{name: "extra", p: drip, method: "followUp", args: `{"signup": {"userId": 1, "email": "e", "plan": "free"}, "step": 2}`,
			want: []signature.Violation{{Pointer: "/step", Message: "unknown parameter"}}},
		{name: "wrong type", p: drip, method: "welcome", args: `{"signup": {"userId": 1, "email": "e", "plan": "free"}, "note": 7}`,
			want: []signature.Violation{{Pointer: "/note", Message: "got number, want string"}}},
		{name: "nested record field wrong", p: drip, method: "welcome", args: `{"signup": {"userId": 1, "email": "e", "plan": "gold"}}`,
			want: []signature.Violation{{Pointer: "/signup/plan", Message: "value must be one of 'free', 'pro'"}}},
		{name: "Go types", p: probe, method: "typed",
			args: `{"signup": {"userId": "1", "email": "e"}, "tags": [1], "at": "soon", "limits": {"a": 3000000000}}`,
			want: []signature.Violation{
				{Pointer: "/at", Message: "'soon' is not valid date-time: less than 20 characters long"},
				{Pointer: "/limits/a", Message: "must be <= 2147483647, got 3000000000"},
				{Pointer: "/signup/plan", Message: "missing required property"},
				{Pointer: "/signup/userId", Message: "got string, want integer"},
				{Pointer: "/tags/0", Message: "got number, want string"},
			}},
		{name: "malformed", p: probe, method: "echo", args: `{"text": `,
			want: []signature.Violation{{Message: "malformed JSON: unexpected EOF"}}},
		{name: "argument of a method without parameters", p: probe, method: "counter", args: `{"n": 1}`,
			want: []signature.Violation{{Pointer: "/n", Message: "unknown parameter"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			capt, log := newCapture()
			err := tt.p.Invoke(context.Background(), envelope(tt.p.Name, tt.method, tt.args), nil, log)
			ce := wantKind(t, err, plugin.KindBroken, tt.msg)
			if tt.want != nil {
				var serr *signature.Error
				if !errors.As(ce, &serr) {
					t.Fatalf("%v does not wrap a *signature.Error", ce)
				}
				if fmt.Sprint(serr.Violations) != fmt.Sprint(tt.want) {
					t.Errorf("violations:\n got %q\nwant %q", serr.Violations, tt.want)
				}
			}
			if lines := capt.all(); len(lines) > 0 {
				t.Errorf("guest code ran: %v", lines)
			}
		})
	}
	// The typed call runs with valid arguments.
	capt, log := newCapture()
	invokeOK(t, probe, "typed", `{"signup": {"userId": 1, "email": "e", "plan": "p"}, "tags": null,
		"at": "2026-01-01T00:00:00Z", "limits": {"a": 1}}`, nil, log)
	capt.want(t, "typed signup=")
	// A method without parameters takes the empty object however it is written.
	for _, args := range []string{`{}`, ` { } `, `null`, ``} {
		capt, log := newCapture()
		invokeOK(t, probe, "counter", args, nil, log)
		capt.want(t, "counter ")
	}
}

// TestHostile: each way a guest can misbehave gives a clear error, and the host keeps
// serving calls, on the same plugin and on others, while and after it happens.
func TestHostile(t *testing.T) {
	t.Parallel()
	reg := loadPlugins(t, plugin.Limits{Timeout: 20 * time.Second, MemoryLimit: 16 << 20}, "hostile", "probe")
	hostile, probe := mustPlugin(t, reg, "hostile"), mustPlugin(t, reg, "probe")
	// Only the endless calls meet the short time limit; the others may take their time
	// on a slow machine (recurse grows wazero's call stack to its 400 MB ceiling).
	short := mustPlugin(t, loadPlugins(t, plugin.Limits{Timeout: time.Second}, "hostile"), "hostile")
	tests := []struct {
		method string
		p      *plugin.Plugin
		kind   plugin.Kind
		msg    string
	}{
		{"trap", hostile, plugin.KindTrapped, "wasm error: unreachable"},
		{"loop", short, plugin.KindTimedOut, "timed out after 1s"},
		{"spin", short, plugin.KindTimedOut, "timed out after 1s"},
		{"calls", short, plugin.KindTimedOut, "timed out after 1s"},
		{"grow", hostile, plugin.KindMemory, "memory limit of 16777216 bytes reached: wasm error: unreachable"},
		{"recurse", hostile, plugin.KindTrapped, "stack overflow"},
		{"exit", hostile, plugin.KindTrapped, "exited with code 3"},
		{"badptr", hostile, plugin.KindTrapped, "fc_invoke returned an error message outside memory"},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			t.Parallel()
			// Other calls go on while the hostile one runs.
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					invokeOK(t, probe, "echo", `{"text": "still here"}`, nil, nil)
					time.Sleep(10 * time.Millisecond)
				}
			})
			capt, log := newCapture()
			start := time.Now()
			err := tt.p.Invoke(context.Background(), envelope("hostile", tt.method, "{}"), nil, log)
			close(stop)
			wg.Wait()
			ce := wantKind(t, err, tt.kind, tt.msg)
			t.Logf("%s after %s", ce, time.Since(start).Round(time.Millisecond))
			if tt.kind == plugin.KindTimedOut && time.Since(start) > 5*time.Second {
				t.Errorf("stopped after %s, want about the time limit", time.Since(start))
			}
			if tt.method == "grow" {
				capt.want(t, "memory exhausted")
			}
			if tt.method == "badptr" {
				capt.want(t, "fc.log: the line is outside memory")
			}
			// The plugin itself serves the next call.
			invokeOK(t, tt.p, "ok", "{}", nil, nil)
		})
	}
}

func TestOutputLimit(t *testing.T) {
	t.Parallel()
	reg := loadPlugins(t, plugin.Limits{OutputLimit: 10 << 10}, "hostile", "probe")
	capt, log := newCapture()
	invokeOK(t, mustPlugin(t, reg, "hostile"), "flood", "{}", nil, log)
	var total int
	var truncated int
	for _, l := range capt.all() {
		if l.msg == "output truncated" {
			truncated++
			continue
		}
		total += len(l.msg)
	}
	if total > 10<<10 || total < 9<<10 || truncated != 1 {
		t.Errorf("logged %d bytes and %d truncation notes, want at most 10 KiB and one note", total, truncated)
	}
	if len(capt.find("flood")) == 0 {
		t.Error("no flood line logged")
	}
	var streams = map[string]int{}
	for _, l := range capt.find("flood") {
		streams[l.attrs["stream"]]++
	}
	if streams[""] == 0 || streams["stdout"] == 0 {
		t.Errorf("lines by stream %v: want fc.log and stdout lines", streams)
	}

	// The cap is per call: the next call logs again.
	capt, log = newCapture()
	invokeOK(t, mustPlugin(t, reg, "probe"), "stdout", `{"text": "hello"}`, nil, log)
	if got := len(capt.find("hello")); got != 2 {
		t.Errorf("%d lines say hello, want 2 (stdout and stderr)", got)
	}
	if l := capt.want(t, "hello"); l.attrs["stream"] != "stdout" && l.attrs["stream"] != "stderr" {
		t.Errorf("line %+v has no stream", l)
	}
}

func TestFollowUpLimit(t *testing.T) {
	t.Parallel()
	reg := loadPlugins(t, plugin.Limits{MaxFollowUps: 10}, "hostile")
	rec := &recorder{}
	invokeOK(t, mustPlugin(t, reg, "hostile"), "spam", "{}", rec, nil)
	if len(rec.scheduled) != 10 {
		t.Errorf("%d follow-ups accepted, want 10", len(rec.scheduled))
	}
	// Cancellations count against the same limit.
	probe := mustPlugin(t, loadPlugins(t, plugin.Limits{MaxFollowUps: 3}, "probe"), "probe")
	rec = &recorder{}
	err := probe.Invoke(context.Background(), envelope("probe", "cancelMany", `{"identifier": "x", "times": 5}`), rec, nil)
	wantKind(t, err, plugin.KindFailed, "fc.cancel: limit reached: at most 3 follow-ups and cancellations per call")
	if len(rec.cancelled) != 3 {
		t.Errorf("%d cancellations accepted, want 3", len(rec.cancelled))
	}
}

// TestHostCalls: what fc.schedule and fc.cancel answer, as the Go SDK reports it.
func TestHostCalls(t *testing.T) {
	t.Parallel()
	reg := loadPlugins(t, plugin.Limits{}, "probe")
	p := mustPlugin(t, reg, "probe")
	tests := []struct {
		name   string
		host   plugin.HostCalls
		method string
		args   string
		want   string // "" for success
	}{
		{"accepted", &recorder{}, "schedule", `{"request": {"method": "echo", "args": {"text": "x"}, "delay": "1h"}}`, ""},
		{"invalid", &recorder{scheduleErr: fmt.Errorf("unknown method: %w", plugin.ErrInvalidRequest)}, "record", `{"label": "x"}`,
			"fc.schedule: invalid request: unknown method: invalid request"},
		{"host error", &recorder{scheduleErr: errors.New("database down")}, "record", `{"label": "x"}`,
			"fc.schedule: host error: database down"},
		{"not available", nil, "record", `{"label": "x"}`, "fc.schedule: host error: not available"},
		{"panic", &recorder{panics: true}, "record", `{"label": "x"}`, "fc.schedule: host error: internal host error in schedule"},
		{"cancel refused", &recorder{cancelErr: fmt.Errorf("bad identifier: %w", plugin.ErrInvalidRequest)}, "cancel", `{"identifier": "x"}`,
			"fc.cancel: invalid request: bad identifier"},
		{"cancel not available", nil, "cancel", `{"identifier": "x"}`, "fc.cancel: host error: not available"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := p.Invoke(context.Background(), envelope("probe", tt.method, tt.args), tt.host, nil)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantKind(t, err, plugin.KindFailed, tt.want)
		})
	}

	rec := &recorder{cancelCount: 5}
	capt, log := newCapture()
	invokeOK(t, p, "cancel", `{"identifier": "drip-user-1"}`, rec, log)
	capt.want(t, "cancel drip-user-1: 5")
	invokeOK(t, p, "record", `{"label": "seen"}`, rec, log)
	if len(rec.scheduled) != 1 || !strings.Contains(rec.scheduled[0], `"identifier":"probe-seen"`) {
		t.Errorf("scheduled %q, want the echo follow-up", rec.scheduled)
	}
}

func TestGuestFailures(t *testing.T) {
	t.Parallel()
	reg := loadPlugins(t, plugin.Limits{MemoryLimit: 32 << 20, Timeout: 10 * time.Second}, "probe")
	p := mustPlugin(t, reg, "probe")
	// The limit also bounds starting a fresh Go instance, which a loaded machine slows
	// down: leave it room.
	short := mustPlugin(t, loadPlugins(t, plugin.Limits{Timeout: 5 * time.Second}, "probe"), "probe")
	// Warm instances for the two calls that time out and the two that follow them, so
	// that the time limit bounds the guest, not instantiating it on a loaded machine
	// (instantiating after a failure is checked with p, whose limit leaves room).
	var warm sync.WaitGroup
	for range 4 {
		warm.Go(func() {
			if err := short.Invoke(context.Background(), envelope("probe", "echo", `{"text": "warm"}`), nil, nil); err != nil {
				t.Errorf("warming an instance: %v", err)
			}
		})
	}
	warm.Wait()
	tests := []struct {
		name, method, args string
		p                  *plugin.Plugin
		kind               plugin.Kind
		msg                string
	}{
		{"error", "fail", `{"message": "it went wrong"}`, p, plugin.KindFailed, "it went wrong"},
		{"empty error", "fail", `{"message": ""}`, p, plugin.KindFailed, "call failed"},
		{"panic", "panic", `{"message": "boom"}`, p, plugin.KindFailed, "panic: boom"},
		{"exit", "exit", `{"code": 7}`, p, plugin.KindTrapped, "exited with code 7"},
		{"out of memory", "alloc", `{"mb": 100}`, p, plugin.KindMemory, "memory limit of 33554432 bytes reached"},
		{"sleep past the time limit", "sleep", `{"ms": 60000}`, short, plugin.KindTimedOut, "timed out after 5s"},
		{"busy past the time limit", "busy", `{"ms": 60000}`, short, plugin.KindTimedOut, "timed out after 5s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			err := tt.p.Invoke(context.Background(), envelope("probe", tt.method, tt.args), nil, nil)
			ce := wantKind(t, err, tt.kind, tt.msg)
			t.Logf("%s after %s", ce, time.Since(start).Round(time.Millisecond))
			invokeOK(t, tt.p, "echo", `{"text": "next"}`, nil, nil)
		})
	}
}

func TestCancelled(t *testing.T) {
	t.Parallel()
	reg := loadPlugins(t, plugin.Limits{}, "probe", "hostile")
	for _, c := range []struct{ plugin, method, args string }{
		{"probe", "sleep", `{"ms": 60000}`},
		{"hostile", "loop", `{}`},
	} {
		t.Run(c.plugin+"."+c.method, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancelCause(context.Background())
			time.AfterFunc(100*time.Millisecond, func() { cancel(errors.New("shutting down")) })
			start := time.Now()
			err := mustPlugin(t, reg, c.plugin).Invoke(ctx, envelope(c.plugin, c.method, c.args), nil, nil)
			wantKind(t, err, plugin.KindCancelled, "cancelled: shutting down")
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("stopped after %s", d)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := mustPlugin(t, reg, "probe").Invoke(ctx, envelope("probe", "echo", `{"text": "x"}`), nil, nil)
	wantKind(t, err, plugin.KindCancelled, "cancelled before it ran")
}

// TestPool: warm instances keep their state between calls; fresh ones do not; an
// instance that failed or grew too much is not reused.
func TestPool(t *testing.T) {
	t.Parallel()
	counts := func(t *testing.T, p *plugin.Plugin, n int) []string {
		t.Helper()
		capt, log := newCapture()
		for range n {
			invokeOK(t, p, "counter", `{}`, nil, log)
		}
		var got []string
		for _, l := range capt.find("counter") {
			got = append(got, l.msg)
		}
		return got
	}
	t.Run("pooled", func(t *testing.T) {
		t.Parallel()
		p := mustPlugin(t, loadPlugins(t, plugin.Limits{}, "probe"), "probe")
		if got := strings.Join(counts(t, p, 3), ","); got != "counter 1,counter 2,counter 3" {
			t.Errorf("pooled calls logged %s: want one instance counting", got)
		}
		// A trap discards the instance: the next call starts from scratch.
		wantKind(t, p.Invoke(context.Background(), envelope("probe", "exit", `{"code": 1}`), nil, nil), plugin.KindTrapped, "")
		if got := strings.Join(counts(t, p, 1), ","); got != "counter 1" {
			t.Errorf("after a trap: %s, want a new instance", got)
		}
	})
	t.Run("fresh", func(t *testing.T) {
		t.Parallel()
		p := mustPlugin(t, loadPlugins(t, plugin.Limits{Fresh: true}, "probe"), "probe")
		if got := strings.Join(counts(t, p, 3), ","); got != "counter 1,counter 1,counter 1" {
			t.Errorf("fresh calls logged %s: want a new instance each", got)
		}
	})
	t.Run("recycled", func(t *testing.T) {
		t.Parallel()
		p := mustPlugin(t, loadPlugins(t, plugin.Limits{RecycleAbove: 24 << 20}, "probe"), "probe")
		counts(t, p, 1)
		invokeOK(t, p, "alloc", `{"mb": 32}`, nil, nil)
		if got := strings.Join(counts(t, p, 1), ","); got != "counter 1" {
			t.Errorf("after growing memory: %s, want a new instance", got)
		}
	})
	t.Run("recycled by default beyond twice a fresh instance's memory", func(t *testing.T) {
		t.Parallel()
		p := mustPlugin(t, loadPlugins(t, plugin.Limits{}, "probe"), "probe")
		if p.Limits.RecycleAbove < 4<<20 || p.Limits.RecycleAbove > 8<<20 {
			t.Errorf("RecycleAbove = %d, want twice a fresh Go instance's memory (about 3.4 MiB)", p.Limits.RecycleAbove)
		}
		if got := strings.Join(counts(t, p, 20), ","); !strings.HasSuffix(got, "counter 20") {
			t.Errorf("ordinary calls: %s, want one instance counting them all", got)
		}
		invokeOK(t, p, "alloc", `{"mb": 8}`, nil, nil)
		if got := strings.Join(counts(t, p, 1), ","); got != "counter 1" {
			t.Errorf("after growing memory by 8 MiB: %s, want a new instance", got)
		}
	})
}

// TestConcurrent runs many calls at once on one plugin: the pool grows to serve them and
// keeps PoolSize instances afterwards.
func TestConcurrent(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"probe", "noop"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			reg := loadPlugins(t, plugin.Limits{PoolSize: 4}, name)
			p := mustPlugin(t, reg, name)
			method, args := "echo", `{"text": "x"}`
			if name == "noop" {
				method, args = "noop", `{}`
			}
			const n = 64
			errs := make(chan error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					for range 5 {
						if err := p.Invoke(context.Background(), envelope(name, method, args), &recorder{}, nil); err != nil {
							errs <- fmt.Errorf("call %d: %w", i, err)
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}

// TestGuestTextIsStorable: what a guest says about its failure (its error message, its
// stderr) reaches the CallError as text PostgreSQL can store: valid UTF-8 without NUL,
// each offending byte replaced. Otherwise the database refused the outcome and the
// call ended up recorded as interrupted, its error lost (found end to end by the e2e
// suite's hostile plugins).
func TestGuestTextIsStorable(t *testing.T) {
	t.Parallel()
	p := mustPlugin(t, loadPlugins(t, plugin.Limits{}, "probe"), "probe")
	tests := []struct {
		where string
		kind  plugin.Kind
		msg   string
	}{
		{"error", plugin.KindFailed, "nul\uFFFDbyte \uFFFD"},
		{"stderr", plugin.KindTrapped, "exited with code 5 (stderr: nul\uFFFDbyte \uFFFD)"},
	}
	for _, tt := range tests {
		t.Run(tt.where, func(t *testing.T) {
			t.Parallel()
			err := p.Invoke(context.Background(), envelope("probe", "nul", `{"where": "`+tt.where+`"}`), nil, nil)
			ce := wantKind(t, err, tt.kind, tt.msg)
			if !utf8.ValidString(ce.Message) || strings.ContainsRune(ce.Message, 0) {
				t.Errorf("message %q: want valid UTF-8 without NUL", ce.Message)
			}
		})
	}
}
