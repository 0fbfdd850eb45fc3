package plugin_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/internal/testplugins"
	"github.com/futurecalls/futurecalls/host/plugin"
)

// load loads a registry from files (test plugin names, or paths) and closes it when the
// test ends.
func load(t testing.TB, cfg plugin.Config, log *slog.Logger) *plugin.Registry {
	t.Helper()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.CacheDir == "" {
		cfg.CacheDir = testplugins.CacheDir(t)
	}
	reg, err := plugin.Load(context.Background(), cfg, log)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	t.Cleanup(func() {
		if err := reg.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return reg
}

// loadPlugins loads the named test plugins ("probe") or example plugins ("example:drip")
// with the given limits for every plugin.
func loadPlugins(t testing.TB, limits plugin.Limits, names ...string) *plugin.Registry {
	t.Helper()
	var files []string
	for _, n := range names {
		if ex, ok := strings.CutPrefix(n, "example:"); ok {
			files = append(files, testplugins.Example(t, ex))
		} else {
			files = append(files, testplugins.Path(t, n))
		}
	}
	reg := load(t, plugin.Config{Dir: testplugins.DirWith(t, files...), Defaults: limits}, nil)
	if len(reg.Problems()) > 0 {
		t.Fatalf("problems: %v", reg.Problems())
	}
	return reg
}

func mustPlugin(t testing.TB, reg *plugin.Registry, name string) *plugin.Plugin {
	t.Helper()
	p, ok := reg.Plugin(name)
	if !ok {
		t.Fatalf("plugin %s not loaded; problems: %v", name, reg.Problems())
	}
	return p
}

// envelope makes the envelope of a call of method with args (a JSON object).
func envelope(plugin, method, args string) abi.Envelope {
	return abi.Envelope{Method: method, Args: json.RawMessage(args), Call: abi.CallInfo{
		ID: 4711, Plugin: plugin, ScheduledAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Attempt: 1, MaxAttempts: 1,
	}}
}

// line is one captured log record.
type line struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

// capture is a slog handler that keeps every record.
type capture struct {
	mu    *sync.Mutex
	lines *[]line
	attrs []slog.Attr
}

func newCapture() (*capture, *slog.Logger) {
	c := &capture{mu: &sync.Mutex{}, lines: &[]line{}}
	return c, slog.New(c)
}

func (c *capture) Enabled(context.Context, slog.Level) bool { return true }

func (c *capture) Handle(_ context.Context, r slog.Record) error {
	l := line{level: r.Level, msg: r.Message, attrs: map[string]string{}}
	for _, a := range c.attrs {
		l.attrs[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		l.attrs[a.Key] = a.Value.String()
		return true
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	*c.lines = append(*c.lines, l)
	return nil
}

func (c *capture) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &capture{mu: c.mu, lines: c.lines, attrs: append(append([]slog.Attr{}, c.attrs...), attrs...)}
}

func (c *capture) WithGroup(string) slog.Handler { return c }

func (c *capture) all() []line {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]line{}, *c.lines...)
}

// find returns the lines whose message contains text.
func (c *capture) find(text string) []line {
	var out []line
	for _, l := range c.all() {
		if strings.Contains(l.msg, text) {
			out = append(out, l)
		}
	}
	return out
}

func (c *capture) want(t testing.TB, text string) line {
	t.Helper()
	found := c.find(text)
	if len(found) == 0 {
		var msgs []string
		for _, l := range c.all() {
			msgs = append(msgs, l.msg)
		}
		t.Fatalf("no log line contains %q; lines: %.500q", text, msgs)
	}
	return found[0]
}

// recorder is a HostCalls that records requests and answers as told.
type recorder struct {
	mu          sync.Mutex
	scheduled   []string
	cancelled   []string
	scheduleErr error
	cancelCount int64
	cancelErr   error
	panics      bool
	// state is applied at once, as if every call succeeded.
	state map[string][]byte
}

func (r *recorder) Schedule(_ context.Context, request []byte) error {
	if r.panics {
		panic("recorder panics")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.scheduleErr != nil {
		return r.scheduleErr
	}
	r.scheduled = append(r.scheduled, string(request))
	return nil
}

func (r *recorder) Cancel(_ context.Context, identifier string) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cancelErr != nil {
		return 0, r.cancelErr
	}
	r.cancelled = append(r.cancelled, identifier)
	return r.cancelCount, nil
}

func (r *recorder) StateGet(_ context.Context, key string) ([]byte, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.state[key]
	return v, ok, nil
}

func (r *recorder) StatePut(_ context.Context, key string, value []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state == nil {
		r.state = map[string][]byte{}
	}
	r.state[key] = value
	return nil
}

func (r *recorder) StateDelete(_ context.Context, key string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.state, key)
	return nil
}

// wantKind checks that err is a *plugin.CallError of kind whose message contains text.
func wantKind(t testing.TB, err error, kind plugin.Kind, text string) *plugin.CallError {
	t.Helper()
	var ce *plugin.CallError
	if !errors.As(err, &ce) {
		t.Fatalf("got %v, want a *plugin.CallError of kind %s", err, kind)
	}
	if ce.Kind != kind || !strings.Contains(ce.Message, text) {
		t.Fatalf("got %s (kind %d), want kind %s with a message containing %q", ce, ce.Kind, kind, text)
	}
	return ce
}

// invokeOK invokes and fails the test on an error.
func invokeOK(t testing.TB, p *plugin.Plugin, method, args string, host plugin.HostCalls, log *slog.Logger) {
	t.Helper()
	if err := p.Invoke(context.Background(), envelope(p.Name, method, args), host, log); err != nil {
		t.Fatalf("%s.%s(%s): %v", p.Name, method, args, err)
	}
}
