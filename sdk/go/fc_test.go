package fc

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

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/abi/signature"
)

// fakeHost records what the SDK asks of the host and answers as told.
type fakeHost struct {
	mu        sync.Mutex
	logs      []string // "<level> <line>"
	requests  []string
	cancelled []string
	code      int64 // schedule's and cancel's answer
	message   string

	configs  map[string]string
	state    map[string][]byte
	fetched  []string // the requests fc.http was given
	response string   // what fc.http answers with
	produced []byte   // the document for result
}

func (h *fakeHost) log(level int32, msg string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.logs = append(h.logs, fmt.Sprintf("%s %s", levelName(level), msg))
}

func (h *fakeHost) schedule(request []byte) int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.requests = append(h.requests, string(request))
	return h.code
}

func (h *fakeHost) cancel(identifier string) int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cancelled = append(h.cancelled, identifier)
	return h.code
}

func (h *fakeHost) lastError() string { return h.message }

// answer is a host function's answer: h.code when it is a refusal, else the length of
// the document it produces.
func (h *fakeHost) answer(doc []byte, found bool) int64 {
	switch {
	case h.code < 0:
		return h.code
	case !found:
		h.message = "no such key"
		return abi.NotFound
	}
	h.produced = doc
	return int64(len(doc))
}

func (h *fakeHost) http(request []byte) int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fetched = append(h.fetched, string(request))
	return h.answer([]byte(h.response), true)
}

func (h *fakeHost) config(key string) int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	value, ok := h.configs[key]
	return h.answer([]byte(value), ok)
}

func (h *fakeHost) stateGet(key string) int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	value, ok := h.state[key]
	return h.answer(value, ok)
}

func (h *fakeHost) statePut(key string, value []byte) int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.code < 0 {
		return h.code
	}
	if h.state == nil {
		h.state = map[string][]byte{}
	}
	h.state[key] = value
	return 0
}

func (h *fakeHost) stateDelete(key string) int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.code < 0 {
		return h.code
	}
	delete(h.state, key)
	return 0
}

func (h *fakeHost) result(n uint32) []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.produced[:min(int(n), len(h.produced))]
}

// hostMu serialises the tests that swap the package's host and registry.
var hostMu sync.Mutex

// withHost runs the test against a fake host and an empty registry, restoring both.
func withHost(t testing.TB) *fakeHost {
	t.Helper()
	hostMu.Lock()
	h := &fakeHost{}
	saved, savedHost := registry.methods, host
	registry.Lock()
	savedManifest := registry.manifest
	registry.methods, registry.manifest, registry.encoded = map[string]*method{}, abi.Manifest{}, nil
	registry.Unlock()
	host = h
	t.Cleanup(func() {
		registry.Lock()
		registry.methods, registry.manifest, registry.encoded = saved, savedManifest, nil
		registry.Unlock()
		host = savedHost
		hostMu.Unlock()
	})
	return h
}

func TestRegisterErrors(t *testing.T) {
	tests := []struct {
		name   string
		call   string
		fn     any
		params []string
		want   string
	}{
		{"not a function", "a", 42, nil, "fn is int, want a func(fc.Call, params...) error"},
		{"no Call", "a", func(string) error { return nil }, []string{"s"}, "want a func(fc.Call, params...) error"},
		{"no error", "a", func(Call) {}, nil, "want a func(fc.Call, params...) error"},
		{"two results", "a", func(Call) (int, error) { return 0, nil }, nil, "want a func(fc.Call, params...) error"},
		{"variadic", "a", func(Call, ...string) error { return nil }, []string{"s"}, "want a func(fc.Call, params...) error"},
		{"nil function", "a", (func(Call) error)(nil), nil, "want a func(fc.Call, params...) error"},
		{"too few names", "a", func(Call, string, int) error { return nil }, []string{"s"},
			`fn takes 2 parameters after the Call, but 1 names were given (["s"])`},
		{"too many names", "a", func(Call) error { return nil }, []string{"s"}, "fn takes 0 parameters"},
		{"bad call name", "do-work", func(Call) error { return nil }, nil, "the name must match"},
		{"bad parameter name", "a", func(Call, string) error { return nil }, []string{"1x"}, `parameter name "1x" must match`},
		{"duplicate parameter", "a", func(Call, string, string) error { return nil }, []string{"x", "x"}, `parameter name "x" is given twice`},
		{"unsupported type", "a", func(Call, chan int) error { return nil }, []string{"c"}, "parameter c: type chan int has no JSON form"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			withHost(t)
			defer func() {
				r := recover()
				msg, _ := r.(string)
				if !strings.HasPrefix(msg, fmt.Sprintf("fc.Register(%q): ", tt.call)) || !strings.Contains(msg, tt.want) {
					t.Errorf("Register panicked with %v, want %q", r, tt.want)
				}
			}()
			Register(tt.call, tt.fn, tt.params...)
		})
	}
	t.Run("twice", func(t *testing.T) {
		withHost(t)
		Register("a", func(Call) error { return nil })
		defer func() {
			if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "registered already") {
				t.Errorf("second Register: %v", r)
			}
		}()
		Register("a", func(Call) error { return nil })
	})
}

func TestPluginNameChecked(t *testing.T) {
	withHost(t)
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "the name must match") {
			t.Errorf("Plugin: %v", r)
		}
	}()
	Plugin("9 lives", "1")
}

type signup struct {
	UserID int64  `json:"userId"`
	Email  string `json:"email"`
	Plan   Plan   `json:"plan"`
}

func TestManifest(t *testing.T) {
	withHost(t)
	if _, err := Manifest(); err == nil || !strings.Contains(err.Error(), "call fc.Plugin") {
		t.Errorf("Manifest without a name: %v", err)
	}
	Plugin("drip", "1.2.3")
	Describe("a drip campaign")
	DefaultRetry(RetryPolicy{MaxAttempts: 3, Backoff: "1s"})
	Register("welcome", func(Call, signup, *string) error { return nil }, "signup", "note").Describe("greets")
	Register("doWork", func(Call) error { return nil })
	m, err := Manifest()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := encodedManifest()
	if err != nil {
		t.Fatal(err)
	}
	// The host accepts it and reads it back as declared.
	checked, err := signature.ParseManifest(raw)
	if err != nil {
		t.Fatalf("the host refuses the manifest: %v\n%s", err, raw)
	}
	if checked.ABI != abi.Version || checked.Name != "drip" || checked.Version != "1.2.3" || checked.Description != "a drip campaign" ||
		checked.Retry.MaxAttempts != 3 || len(m.Calls) != 2 || m.Calls[0].Name != "welcome" || m.Calls[1].Name != "doWork" {
		t.Errorf("manifest = %s", raw)
	}
	welcome := m.Calls[0]
	if welcome.Description != "greets" || len(welcome.Params) != 2 || welcome.Params[0].Optional || !welcome.Params[1].Optional ||
		string(welcome.Params[1].Schema) != `{"type":"string"}` {
		t.Errorf("welcome = %+v", welcome)
	}
	sig, _ := checked.Method("welcome")
	if err := sig.Validate(json.RawMessage(`{"signup": {"userId": 1, "email": "e", "plan": "gold"}}`)); err == nil {
		t.Error("a plan outside the enum fits")
	}
	if doWork := m.Calls[1]; doWork.Params == nil {
		t.Error(`doWork's params encode as null, want []`)
	}
}

func envelopeJSON(t *testing.T, method, args string) []byte {
	t.Helper()
	b, err := json.Marshal(abi.Envelope{Method: method, Args: json.RawMessage(args), Call: abi.CallInfo{
		ID: 7, Plugin: "p", ScheduledAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Identifier: "id", Attempt: 2, MaxAttempts: 3,
	}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestInvoke(t *testing.T) {
	withHost(t)
	var got []string
	Register("welcome", func(c Call, s signup, note *string, tags []string) error {
		n := "<nil>"
		if note != nil {
			n = *note
		}
		got = append(got, fmt.Sprintf("%d %s %s %d/%d %s: %d %s %s %s %q", c.ID, c.Method, c.Identifier, c.Attempt, c.MaxAttempts,
			c.ScheduledAt.Format(time.RFC3339), s.UserID, s.Email, s.Plan, n, tags))
		return nil
	}, "signup", "note", "tags")
	Register("fail", func(Call, string) error { return errors.New("it went wrong") }, "why")
	Register("panic", func(Call) error { panic("boom") })

	tests := []struct {
		name     string
		envelope []byte
		want     string // error, "" for success
	}{
		{"all arguments", envelopeJSON(t, "welcome", `{"signup": {"userId": 1, "email": "e", "plan": "pro"}, "note": "hi", "tags": ["a"]}`), ""},
		{"optional left out", envelopeJSON(t, "welcome", `{"signup": {"userId": 2, "email": "f", "plan": "free"}, "tags": null}`), ""},
		{"error", envelopeJSON(t, "fail", `{"why": "x"}`), "it went wrong"},
		{"panic", envelopeJSON(t, "panic", `{}`), "panic: boom"},
		{"unknown call", envelopeJSON(t, "nope", `{}`), `fc: unknown call "nope"`},
		{"required left out", envelopeJSON(t, "welcome", `{}`), "fc: argument signup is missing"},
		{"undecodable", envelopeJSON(t, "welcome", `{"signup": {"userId": "x"}, "tags": []}`), "fc: argument signup: json: cannot unmarshal"},
		{"malformed envelope", []byte(`{"method": `), "fc: malformed envelope"},
	}
	for _, tt := range tests {
		err := invoke(tt.envelope)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
	want := []string{
		`7 welcome id 2/3 2026-01-02T03:04:05Z: 1 e pro hi ["a"]`,
		`7 welcome id 2/3 2026-01-02T03:04:05Z: 2 f free <nil> []`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("calls:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestPanicIsLogged(t *testing.T) {
	h := withHost(t)
	Register("panic", func(Call) error { panic("boom") })
	if err := invoke(envelopeJSON(t, "panic", `{}`)); err == nil {
		t.Fatal("no error")
	}
	if len(h.logs) != 1 || !strings.HasPrefix(h.logs[0], "error panic in panic: boom") || !strings.Contains(h.logs[0], "goroutine") {
		t.Errorf("logs = %q, want the panic with its stack", h.logs)
	}
}

func TestSchedule(t *testing.T) {
	h := withHost(t)
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	requests := []struct {
		r    Request
		want string
	}{
		{Request{Method: "followUp", Args: Args{"signup": signup{UserID: 1, Email: "e", Plan: "pro"}}, Delay: 72 * time.Hour, Identifier: "drip-user-1"},
			`{"plugin":"","method":"followUp","args":{"signup":{"userId":1,"email":"e","plan":"pro"}},"delay":"3d","identifier":"drip-user-1"}`},
		{Request{Plugin: "other", Method: "m", Delay: 90 * time.Minute, Retry: &RetryPolicy{MaxAttempts: 2}},
			`{"plugin":"other","method":"m","delay":"1h30m0s","retry":{"maxAttempts":2}}`},
		{Request{Method: "m", At: at, Args: struct {
			N int `json:"n"`
		}{3}}, `{"plugin":"","method":"m","args":{"n":3},"at":"2026-05-01T12:00:00Z"}`},
		{Request{Method: "m", Cron: "0 9 * * MON-FRI", TimeZone: "Europe/Berlin", Identifier: "mornings"},
			`{"plugin":"","method":"m","identifier":"mornings","cron":"0 9 * * MON-FRI","timezone":"Europe/Berlin"}`},
		{Request{Method: "m", Every: 24 * time.Hour, Start: at, Identifier: "daily"},
			`{"plugin":"","method":"m","identifier":"daily","every":"1d","start":"2026-05-01T12:00:00Z"}`},
	}
	for _, r := range requests {
		if err := Schedule(r.r); err != nil {
			t.Fatal(err)
		}
	}
	for i, r := range requests {
		if h.requests[i] != r.want {
			t.Errorf("request %d = %s\nwant %s", i, h.requests[i], r.want)
		}
	}
	if err := ScheduleJSON([]byte(`{"method": "raw"}`)); err != nil || h.requests[len(requests)] != `{"method": "raw"}` {
		t.Errorf("ScheduleJSON: %v, sent %q", err, h.requests[len(requests):])
	}
	if err := Schedule(Request{Method: "m", Args: func() {}}); err == nil || !strings.Contains(err.Error(), "encode arguments") {
		t.Errorf("Schedule with unencodable arguments: %v", err)
	}
}

func TestHostErrors(t *testing.T) {
	h := withHost(t)
	for _, tt := range []struct {
		code int64
		is   error
		text string
	}{
		{abi.ScheduleInvalid, ErrInvalid, "fc.schedule: invalid request: no such method"},
		{abi.ScheduleLimit, ErrLimit, "fc.schedule: limit reached: no such method"},
		{abi.ScheduleHostError, ErrHost, "fc.schedule: host error: no such method"},
	} {
		h.code, h.message = tt.code, "no such method"
		err := Schedule(Request{Method: "m"})
		var he *HostError
		if !errors.Is(err, tt.is) || !errors.As(err, &he) || he.Code != tt.code || err.Error() != tt.text {
			t.Errorf("code %d: got %v, want %q", tt.code, err, tt.text)
		}
	}
	h.code, h.message = abi.ScheduleInvalid, "bad identifier"
	if n, err := Cancel("x"); n != 0 || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "fc.cancel: invalid request: bad identifier") {
		t.Errorf("Cancel: %d, %v", n, err)
	}
	h.code = 4
	if n, err := Cancel("drip-user-1"); n != 4 || err != nil || h.cancelled[1] != "drip-user-1" {
		t.Errorf("Cancel: %d, %v, cancelled %q", n, err, h.cancelled)
	}
}

func TestLog(t *testing.T) {
	h := withHost(t)
	Logger().Info("plain")
	l := Logger().With("user", 42)
	l.Info("sent e-mail", "to", "ada@example.com", slog.Group("g", "k", "v"))
	l.Debug("quiet")
	l.Log(context.Background(), slog.LevelWarn+1, "warned")
	l.Error("failed", "err", errors.New("boom"))
	want := []string{
		"info plain",
		"info sent e-mail user=42 to=ada@example.com g.k=v", "debug quiet user=42", "warn warned user=42",
		"error failed user=42 err=boom",
	}
	if strings.Join(h.logs, "\n") != strings.Join(want, "\n") {
		t.Errorf("logs:\n%s\nwant\n%s", strings.Join(h.logs, "\n"), strings.Join(want, "\n"))
	}
}

func TestFormatDelay(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		24 * time.Hour: "1d", 72 * time.Hour: "3d", 25 * time.Hour: "25h0m0s", time.Second: "1s", -48 * time.Hour: "-48h0m0s",
	} {
		if got := formatDelay(d); got != want {
			t.Errorf("formatDelay(%s) = %q, want %q", d, got, want)
		}
		if d > 0 {
			if parsed, err := abi.ParseDelay(formatDelay(d)); err != nil || parsed != d {
				t.Errorf("the host reads %q as %s (%v), want %s", formatDelay(d), parsed, err, d)
			}
		}
	}
}

// FuzzInvoke checks that no envelope crashes the dispatcher: whatever the host writes,
// a call returns an error or runs.
func FuzzInvoke(f *testing.F) {
	withHost(f)
	m, err := newMethod("welcome", func(Call, signup, *string, map[string][]int) error { return nil }, []string{"signup", "note", "m"})
	if err != nil {
		f.Fatal(err)
	}
	registry.methods["welcome"] = m
	f.Add([]byte(`{"method": "welcome", "args": {"signup": {"userId": 1, "email": "e", "plan": "pro"}, "m": {"a": [1]}}, "call": {"id": 1}}`))
	f.Add([]byte(`{"method": "welcome", "args": {"signup": null, "note": null, "m": null}}`))
	f.Add([]byte(`{"method": "welcome", "args": [], "call": "x"}`))
	f.Fuzz(func(t *testing.T, envelope []byte) {
		_ = invoke(envelope)
	})
}
