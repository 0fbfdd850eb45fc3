package dashboard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/app"
	"github.com/futurecalls/futurecalls/host/config"
	"github.com/futurecalls/futurecalls/host/internal/testdb"
	"github.com/futurecalls/futurecalls/host/internal/testplugins"
	"github.com/futurecalls/futurecalls/sdk/client"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// chromiumPath is Debian's chromium, which `make deps-chromium` installs.
const chromiumPath = "/usr/bin/chromium"

// xss is put into arguments, identifiers and error messages: the pages must show it as
// text. Each half alerts when it runs.
const xss = `<script>alert("xss-script")</script>"><img src=x onerror=alert("xss-img")>`

// host is a host started in this process by app.Run, as `host run` starts it: its own
// database, real plugins, the API and the dashboard on a loopback port.
type host struct {
	url    string
	client *client.Client
	logs   *bytes.Buffer
}

func startHost(t *testing.T, tokens ...string) *host {
	t.Helper()
	dir := testplugins.DirWith(t, testplugins.Example(t, "drip"), testplugins.Example(t, "kinds"), testplugins.Path(t, "probe"))
	return startHostIn(t, dir, true, tokens...)
}

// startHostIn is startHost with the plugins of dir, watched or not.
func startHostIn(t *testing.T, dir string, watch bool, tokens ...string) *host {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	cfg := config.Default()
	cfg.Database.URL = testdb.URL(t)
	cfg.Plugins.Dir = dir
	cfg.Plugins.Reload.Watch = watch
	cfg.Plugins.CacheDir = testplugins.CacheDir(t)
	cfg.API.Listen = addr
	cfg.API.Tokens = tokens
	cfg.FutureCall.ScanInterval = 200
	cfg.FutureCall.ShutdownGrace = config.Duration(time.Second)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	logs := &bytes.Buffer{}
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(lockedWriter{&mu, logs}, nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx, cfg, log) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("host: %v", err)
		}
		if t.Failed() {
			mu.Lock()
			t.Logf("host log:\n%s", logs)
			mu.Unlock()
		}
	})

	h := &host{url: "http://" + addr, logs: logs}
	var opts []client.Option
	if len(tokens) > 0 {
		opts = append(opts, client.WithToken(tokens[0]))
	}
	if h.client, err = client.New(h.url, opts...); err != nil {
		t.Fatal(err)
	}
	// Compiling three Go plugins takes most of the start: seconds alone, over half a
	// minute on a machine busy with the other packages' tests (go test runs them at once).
	deadline := time.Now().Add(3 * time.Minute)
	for {
		resp, err := http.Get(h.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return h
			}
		}
		select {
		case err := <-done:
			t.Fatalf("host stopped before it was ready: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("host not ready after 3 minutes: %v", err)
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (h *host) schedule(t *testing.T, req abi.ScheduleRequest) client.Call {
	t.Helper()
	c, err := h.client.Schedule(context.Background(), req)
	if err != nil {
		t.Fatalf("schedule %s.%s: %v", req.Plugin, req.Method, err)
	}
	return c
}

func rawArgs(t *testing.T, v map[string]any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// waitHistory waits until the call has a history entry with the outcome.
func (h *host) waitHistory(t *testing.T, id int64, want abi.Outcome) client.HistoryEntry {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		page, err := h.client.History(context.Background(), client.HistoryOptions{CallID: id})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Entries {
			if e.Outcome == want {
				return e
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("call %d has no %s entry after 20s", id, want)
	return client.HistoryEntry{}
}

// browser is a headless Chromium driven over the DevTools protocol. It records every
// JavaScript dialog (an alert means injected script ran), uncaught exception and
// console error (a Content-Security-Policy violation is one), and every request.
type browser struct {
	ctx         context.Context
	mu          sync.Mutex
	dialogs     []string
	problems    []string
	requests    []*network.Request
	transferred map[network.RequestID]float64
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	path := chromiumPath
	if _, err := os.Stat(path); err != nil {
		if path, err = exec.LookPath("chromium"); err != nil {
			t.Fatalf("Chromium is missing (%s, nor chromium on PATH): run `make deps-chromium` (Debian package chromium); "+
				"the dashboard's browser tests never skip", chromiumPath)
		}
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	b := &browser{ctx: ctx, transferred: map[network.RequestID]float64{}}
	err := chromedp.Listen(ctx, func(ev any) {
		b.mu.Lock()
		defer b.mu.Unlock()
		switch ev := ev.(type) {
		case *page.EventJavascriptDialogOpening:
			b.dialogs = append(b.dialogs, ev.Message)
			go func() {
				_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
			}()
		case *runtime.EventExceptionThrown:
			b.problems = append(b.problems, fmt.Sprintf("exception: %s %s:%d", ev.ExceptionDetails.Text, ev.ExceptionDetails.URL, ev.ExceptionDetails.LineNumber))
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.EntryLevelError && !strings.Contains(ev.Entry.Text, "status of 4") {
				b.problems = append(b.problems, fmt.Sprintf("console %s: %s", ev.Entry.Source, ev.Entry.Text))
			}
		case *network.EventRequestWillBeSent:
			b.requests = append(b.requests, ev.Request)
		case *network.EventLoadingFinished:
			b.transferred[ev.RequestID] = ev.EncodedDataLength
		}
	})
	if err == nil {
		_, err = chromedp.Call(ctx, cdplog.Enable, cdp.Empty{})
	}
	if err != nil {
		t.Fatalf("start Chromium (%s): %v", path, err)
	}
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if len(b.dialogs) > 0 {
			t.Errorf("JavaScript dialogs opened (injected script ran?): %q", b.dialogs)
		}
		if len(b.problems) > 0 {
			t.Errorf("the page had errors:\n%s", strings.Join(b.problems, "\n"))
		}
	})
	return b
}

// run runs actions, failing the test when they do not finish within 20 seconds.
func (b *browser) run(t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		shot, _ := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
		file := filepath.Join(screenshotDir(t), "failure-"+strings.ReplaceAll(t.Name(), "/", "_")+".png")
		_ = os.WriteFile(file, shot, 0o644)
		text, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body.innerText`))
		t.Fatalf("%s: %v\nscreenshot: %s\npage text:\n%s", what, err, file, text)
	}
}

// waitFor polls a JavaScript expression until it is true.
func waitFor(expression string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](expression, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(0))
}

func evaluate[T any](t *testing.T, b *browser, expression string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expression))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expression, err)
	}
	return v
}

// jsString quotes s for JavaScript.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

var (
	screenshotsOnce sync.Once
	screenshots     string
)

// screenshotDir is where the screenshots go: $DASHBOARD_SCREENSHOTS, or a folder under
// the temporary directory that the test log names.
func screenshotDir(t *testing.T) string {
	screenshotsOnce.Do(func() {
		screenshots = os.Getenv("DASHBOARD_SCREENSHOTS")
		if screenshots == "" {
			screenshots = filepath.Join(os.TempDir(), "futurecalls-dashboard-screenshots")
		}
		if err := os.MkdirAll(screenshots, 0o755); err != nil {
			t.Fatal(err)
		}
	})
	return screenshots
}

func (b *browser) open(t *testing.T, url string) {
	t.Helper()
	b.run(t, "open "+url, chromedp.Navigate(url), waitFor(`document.readyState === "complete"`))
}

// TestDashboard drives the dashboard in Chromium against a real host: scheduling
// through the generated form and watching the call run, the API's violations beside
// the fields, cancelling by identifier, a running call that cannot be cancelled, and
// hostile text shown as text. It saves screenshots of every view at both widths.
func TestDashboard(t *testing.T) {
	h := startHost(t)
	b := newBrowser(t)

	t.Run("first view", func(t *testing.T) {
		b.open(t, h.url+"/")
		b.run(t, "overview", waitFor(`document.querySelector("#live").textContent.startsWith("Updated")`),
			waitFor(`document.querySelectorAll(".cards .card").length === 5`))
		b.mu.Lock()
		var total float64
		for _, n := range b.transferred {
			total += n
		}
		requests := len(b.transferred)
		b.mu.Unlock()
		t.Logf("first view (overview with an empty schedule): %d requests, %.0f bytes transferred", requests, total)
		if total > 64<<10 {
			t.Errorf("the first view transferred %.0f bytes, over 64 KiB", total)
		}
	})

	t.Run("schedule through the form and watch it run", func(t *testing.T) {
		b.open(t, h.url+"/#schedule/probe/echo")
		b.run(t, "fill the form",
			chromedp.WaitVisible(chromedp.CSS(`[data-pointer="/text"] input`)),
			chromedp.SendKeys(chromedp.CSS(`[data-pointer="/text"] input`), "hello from the form"),
			chromedp.Click(chromedp.CSS(`#timing-delay`)),
			chromedp.SendKeys(chromedp.CSS(`#t-delay`), "3s"),
			chromedp.SendKeys(chromedp.CSS(`#identifier`), "form-call"),
			chromedp.Click(chromedp.CSS(`#schedule-submit`)),
			waitFor(`document.querySelector(".result .ok")?.textContent.includes("Scheduled call #")`))
		calls, err := h.client.List(context.Background(), client.ListOptions{Identifier: "form-call"})
		if err != nil || len(calls.Calls) != 1 {
			t.Fatalf("stored calls with identifier form-call: %+v, %v; want 1", calls, err)
		}
		call := calls.Calls[0]
		if string(call.Args) != `{"text":"hello from the form"}` || call.Plugin != "probe" || call.Method != "echo" {
			t.Errorf("stored %s.%s(%s), want probe.echo with the text typed", call.Plugin, call.Method, call.Args)
		}
		b.run(t, "the call in the schedule", chromedp.Click(chromedp.CSS(`.result .ok a`)),
			waitFor(fmt.Sprintf(`!!document.querySelector('#call-list [data-id="%d"]')`, call.ID)))
		b.run(t, "the call in the history", chromedp.Navigate(fmt.Sprintf("%s/#history/probe/echo/%d", h.url, call.ID)),
			waitFor(fmt.Sprintf(`!!document.querySelector('#history-list [data-call="%d"] .b-succeeded')`, call.ID)))
		hostName := evaluate[string](t, b, fmt.Sprintf(`document.querySelector('[data-call="%d"] .host').textContent`, call.ID))
		if entry := h.waitHistory(t, call.ID, abi.OutcomeSucceeded); hostName != entry.Host {
			t.Errorf("history shows host %q, the API says %q", hostName, entry.Host)
		}
	})

	t.Run("violations beside the fields, nothing stored", func(t *testing.T) {
		b.open(t, h.url+"/#schedule/drip/welcome")
		b.run(t, "submit wrong values",
			chromedp.WaitVisible(chromedp.CSS(`[data-pointer="/signup/userId"] input`)),
			chromedp.SendKeys(chromedp.CSS(`[data-pointer="/signup/userId"] input`), "forty-two"),
			chromedp.Click(chromedp.CSS(`#schedule-submit`)),
			waitFor(`document.querySelectorAll(".violation").length === 3`))
		for pointer, want := range map[string]string{
			"/signup/userId": "want integer",
			"/signup/email":  "missing",
			"/signup/plan":   "missing",
		} {
			got := evaluate[string](t, b, fmt.Sprintf(`document.querySelector('[data-pointer="%s"] > .violation')?.textContent ?? ""`, pointer))
			if !strings.Contains(got, want) {
				t.Errorf("beside %s: %q, want a violation saying %q", pointer, got, want)
			}
		}
		if invalid := evaluate[bool](t, b, `document.querySelector('[data-pointer="/signup/userId"] > input').getAttribute("aria-invalid") === "true"`); !invalid {
			t.Error("the userId input is not marked aria-invalid")
		}
		calls, err := h.client.List(context.Background(), client.ListOptions{Plugin: "drip"})
		if err != nil || len(calls.Calls) != 0 {
			t.Errorf("drip calls stored after a refused form: %+v, %v", calls.Calls, err)
		}
		saveViews(t, b, h.url, "schedule-violations", "#schedule/drip/welcome", false)
	})

	t.Run("cancel by identifier", func(t *testing.T) {
		for i := range 3 {
			h.schedule(t, abi.ScheduleRequest{Plugin: "probe", Method: "echo", Args: rawArgs(t, map[string]any{"text": fmt.Sprint(i)}),
				Delay: "1h", Identifier: "campaign-7"})
		}
		keep := h.schedule(t, abi.ScheduleRequest{Plugin: "probe", Method: "echo", Args: rawArgs(t, map[string]any{"text": "keep"}), Delay: "1h"})
		b.open(t, h.url+"/#calls//campaign-7")
		b.run(t, "cancel the identifier's calls",
			waitFor(`document.querySelectorAll("#call-list > li").length === 3`),
			chromedp.Click(chromedp.CSS(`#cancel-identifier`)),
			waitFor(`document.querySelector("#confirm-dialog").open`),
			chromedp.Click(chromedp.CSS(`#confirm-ok`)),
			waitFor(`document.querySelector(".result .ok")?.textContent.includes("Cancelled 3 calls")`),
			waitFor(`document.querySelector(".results").textContent.includes("No call matches.")`))
		calls, err := h.client.List(context.Background(), client.ListOptions{Identifier: "campaign-7"})
		if err != nil || len(calls.Calls) != 0 {
			t.Errorf("calls with the identifier after cancelling: %+v, %v", calls.Calls, err)
		}
		if _, err := h.client.Get(context.Background(), keep.ID); err != nil {
			t.Errorf("a call without the identifier: %v", err)
		}
	})

	t.Run("a running call cannot be cancelled", func(t *testing.T) {
		sleepy := h.schedule(t, abi.ScheduleRequest{Plugin: "probe", Method: "sleep", Args: rawArgs(t, map[string]any{"ms": 4000}), Identifier: "sleepy"})
		deadline := time.Now().Add(10 * time.Second)
		for {
			c, err := h.client.Get(context.Background(), sleepy.ID)
			if err == nil && c.Status == client.StatusRunning {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("call %d not running after 10s: %+v, %v", sleepy.ID, c, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		b.open(t, h.url+"/#calls//sleepy")
		b.run(t, "cancel the running call",
			waitFor(fmt.Sprintf(`!!document.querySelector('#call-list [data-id="%d"] .b-running')`, sleepy.ID)),
			chromedp.Click(chromedp.CSS(`#call-list details summary`)),
			chromedp.Click(chromedp.CSS(`#call-list .actions button.danger`)),
			chromedp.Click(chromedp.CSS(`#confirm-ok`)),
			waitFor(`document.querySelector(".result .error")?.textContent.includes("is running and can no longer be cancelled")`))
	})

	t.Run("hostile text is shown as text", func(t *testing.T) {
		failing := h.schedule(t, abi.ScheduleRequest{Plugin: "probe", Method: "fail", Args: rawArgs(t, map[string]any{"message": xss}), Identifier: xss})
		waiting := h.schedule(t, abi.ScheduleRequest{Plugin: "probe", Method: "echo", Args: rawArgs(t, map[string]any{"text": xss}), Delay: "2h", Identifier: xss})
		h.waitHistory(t, failing.ID, abi.OutcomeFailed)

		b.open(t, h.url+"/#calls")
		b.run(t, "calls with hostile values",
			waitFor(fmt.Sprintf(`!!document.querySelector('#call-list [data-id="%d"]')`, waiting.ID)),
			chromedp.Click(chromedp.CSS(fmt.Sprintf(`#call-list [data-id="%d"] summary`, waiting.ID))))
		checkText(t, b, fmt.Sprintf(`#call-list [data-id="%d"] .identifier`, waiting.ID), xss)
		checkText(t, b, fmt.Sprintf(`#call-list [data-id="%d"] pre`, waiting.ID), jsonText(t, map[string]any{"text": xss}))
		checkInert(t, b)

		b.open(t, fmt.Sprintf("%s/#history///%d", h.url, failing.ID))
		b.run(t, "history with a hostile error", waitFor(fmt.Sprintf(`!!document.querySelector('#history-list [data-call="%d"] .errtext')`, failing.ID)))
		checkText(t, b, fmt.Sprintf(`#history-list [data-call="%d"] .identifier`, failing.ID), xss)
		if got := evaluate[string](t, b, fmt.Sprintf(`document.querySelector('#history-list [data-call="%d"] .errtext').innerText`, failing.ID)); !strings.Contains(got, xss) {
			t.Errorf("error text shown: %q, want it to contain %q", got, xss)
		}
		checkInert(t, b)

		b.open(t, h.url+"/#overview")
		b.run(t, "overview with a hostile error", waitFor(`document.querySelector(".results .errtext")?.innerText.includes("<script>")`))
		checkInert(t, b)
	})

	t.Run("screenshots", func(t *testing.T) {
		h.schedule(t, abi.ScheduleRequest{Plugin: "probe", Method: "echo", Args: rawArgs(t, map[string]any{"text": "tick"}), Every: "2s", Identifier: "ticks"})
		h.schedule(t, abi.ScheduleRequest{Plugin: "drip", Method: "welcome", Cron: "0 9 * * MON-FRI", TimeZone: "Europe/Berlin", Identifier: "weekday-mornings",
			Args: rawArgs(t, map[string]any{"signup": map[string]any{"userId": 42, "email": "ada@example.com", "plan": "pro"}})})
		h.schedule(t, abi.ScheduleRequest{Plugin: "kinds", Method: "kinds", Delay: "30m", Identifier: "kinds-1", Retry: &abi.RetryPolicy{MaxAttempts: 3, Backoff: "10s"},
			Args: rawArgs(t, map[string]any{"text": "t", "count": 3, "ratio": 0.5, "flag": true, "tags": []string{"a", "b"}, "point": map[string]any{"x": 1, "y": 2}})})
		for i := range 3 {
			h.schedule(t, abi.ScheduleRequest{Plugin: "probe", Method: "fail", Args: rawArgs(t, map[string]any{"message": fmt.Sprintf("disk full (%d)", i)})})
		}
		retried := h.schedule(t, abi.ScheduleRequest{Plugin: "probe", Method: "fail", Args: rawArgs(t, map[string]any{"message": "upstream said 503"}),
			Retry: &abi.RetryPolicy{MaxAttempts: 2, Backoff: "100ms"}})
		deadline := time.Now().Add(10 * time.Second)
		for {
			page, err := h.client.History(context.Background(), client.HistoryOptions{Identifier: "ticks"})
			if err == nil && len(page.Entries) >= 2 || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		for {
			page, err := h.client.History(context.Background(), client.HistoryOptions{CallID: retried.ID})
			if err == nil && len(page.Entries) == 2 || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		for _, v := range []struct{ name, hash string }{
			{"overview", "#overview"}, {"calls", "#calls"}, {"history", "#history"}, {"series", "#series"},
			{"plugins", "#plugins"}, {"schedule", "#schedule/kinds/kinds"},
		} {
			saveViews(t, b, h.url, v.name, v.hash, true)
		}
		t.Logf("screenshots of every view at 1280 and 390 px: %s", screenshotDir(t))
	})
}

// saveViews saves a screenshot of the page at hash at 1280 and 390 pixels wide. With
// open, it opens the page first and waits until its data is shown; else it shoots the
// page as it is.
func saveViews(t *testing.T, b *browser, base, name, hash string, open bool) {
	t.Helper()
	for _, width := range []int64{1280, 390} {
		actions := []chromedp.Action[chromedp.Void]{chromedp.EmulateViewport(width, 900)}
		if open {
			actions = append(actions, chromedp.Navigate(base+"/"+hash),
				waitFor(`document.querySelector(".results")?.children.length > 0 || !!document.querySelector("form.schedule [data-pointer]")`),
				// Show the details of the first call or attempt, too.
				chromedp.Evaluate[chromedp.Void](`document.querySelector(".results details")?.setAttribute("open", ""); undefined`))
		}
		b.run(t, "open "+name, actions...)
		shot := evaluateShot(t, b)
		if junk := evaluate[string](t, b, `(() => { const m = document.querySelector("main").cloneNode(true); m.querySelectorAll("pre, code").forEach((e) => e.remove()); return m.textContent; })().match(/\b(undefined|null|NaN|Invalid Date)\b|\[object \w+\]/)?.[0] ?? ""`); junk != "" {
			t.Errorf("%s at %d px shows %q", name, width, junk)
		}
		overflow := evaluate[bool](t, b, `document.documentElement.scrollWidth > document.documentElement.clientWidth + 1`)
		if overflow {
			t.Errorf("%s at %d px: the page is wider than the window", name, width)
		}
		file := filepath.Join(screenshotDir(t), fmt.Sprintf("%s-%d.png", name, width))
		if err := os.WriteFile(file, shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b.run(t, "reset the viewport", chromedp.EmulateViewport(1280, 900))
}

// evaluateShot takes a screenshot of the whole page, as a PNG.
func evaluateShot(t *testing.T, b *browser) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	return shot
}

func jsonText(t *testing.T, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(bytes.ReplaceAll(bytes.ReplaceAll(bytes.ReplaceAll(b, []byte(`\u003c`), []byte("<")), []byte(`\u003e`), []byte(">")), []byte(`\u0026`), []byte("&")))
}

// checkText asserts that the element shows want as its visible text.
func checkText(t *testing.T, b *browser, selector, want string) {
	t.Helper()
	got := evaluate[string](t, b, fmt.Sprintf(`document.querySelector(%s)?.innerText ?? "(no such element)"`, jsString(selector)))
	if strings.TrimSpace(got) != want {
		t.Errorf("%s shows %q, want %q", selector, got, want)
	}
}

// checkInert asserts that no payload became markup: no image, no script but the
// dashboard's own, no element with an event handler attribute.
func checkInert(t *testing.T, b *browser) {
	t.Helper()
	injected := evaluate[[]string](t, b, `[
		...[...document.images].map((i) => "img " + i.outerHTML),
		...[...document.scripts].filter((s) => s.src !== location.origin + "/ui/app.js").map((s) => "script " + s.outerHTML),
		...[...document.querySelectorAll("*")].filter((e) => [...e.attributes].some((a) => a.name.startsWith("on"))).map((e) => "handler " + e.outerHTML),
	]`)
	if len(injected) > 0 {
		t.Errorf("markup injected into the page: %q", injected)
	}
}

// TestDashboardAsksForToken: with tokens, the page shows no data until it is given a
// valid one, which it keeps in sessionStorage and sends only as a bearer token.
func TestDashboardAsksForToken(t *testing.T) {
	const token = "dashboard-test-token-0123456789"
	h := startHost(t, token)
	h.schedule(t, abi.ScheduleRequest{Plugin: "probe", Method: "echo", Args: rawArgs(t, map[string]any{"text": "secret-args"}), Delay: "1h", Identifier: "secret-identifier"})
	b := newBrowser(t)

	b.open(t, h.url+"/#calls")
	b.run(t, "the token dialog", waitFor(`document.querySelector("#token-dialog").open`))
	if text := evaluate[string](t, b, `document.querySelector("main").innerText`); strings.Contains(text, "secret") || strings.Contains(text, "probe.echo") {
		t.Errorf("data shown before a token was given: %q", text)
	}
	b.run(t, "a wrong token",
		chromedp.SendKeys(chromedp.CSS(`#token-input`), "not-the-token-but-long-enough"),
		chromedp.Click(chromedp.CSS(`#token-form button[type=submit]`)),
		waitFor(`document.querySelector("#token-dialog").open && document.querySelector("#token-error").textContent.includes("refused")`))
	if text := evaluate[string](t, b, `document.querySelector("main").innerText`); strings.Contains(text, "secret") {
		t.Errorf("data shown with a wrong token: %q", text)
	}
	b.run(t, "the right token",
		chromedp.SendKeys(chromedp.CSS(`#token-input`), token),
		chromedp.Click(chromedp.CSS(`#token-form button[type=submit]`)),
		waitFor(`!document.querySelector("#token-dialog").open`),
		waitFor(`document.querySelector("#call-list .identifier")?.textContent === "secret-identifier"`))

	b.run(t, "other views use the kept token", chromedp.Navigate(h.url+"/#overview"),
		waitFor(`document.querySelectorAll(".cards .card").length === 5`))
	if open := evaluate[bool](t, b, `document.querySelector("#token-dialog").open`); open {
		t.Error("the token was asked for again")
	}
	if stored := evaluate[string](t, b, `sessionStorage.getItem("futurecalls.token")`); stored != token {
		t.Errorf("sessionStorage holds %q, want the token", stored)
	}
	if cookies := evaluate[string](t, b, `document.cookie`); cookies != "" {
		t.Errorf("cookies: %q, want none", cookies)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	bearer := 0
	for _, r := range b.requests {
		if strings.Contains(r.URL, token) || strings.Contains(r.URLFragment, token) {
			t.Errorf("the token is in a URL: %s", r.URL)
		}
		if auth, _ := r.Headers["Authorization"].(string); auth == "Bearer "+token {
			bearer++
		}
	}
	if bearer == 0 {
		t.Error("no request carried the token as a bearer token")
	}
}

// TestDashboardPluginReload: the plugins view reloads the plugins on request, says what
// changed, and shows a new version refused because stored calls would break under it.
func TestDashboardPluginReload(t *testing.T) {
	dir := t.TempDir()
	install := func(plugin string) {
		t.Helper()
		b, err := os.ReadFile(testplugins.Path(t, plugin))
		if err != nil {
			t.Fatal(err)
		}
		tmp := filepath.Join(dir, ".ticker.wasm.tmp")
		if err := os.WriteFile(tmp, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, "ticker.wasm")); err != nil {
			t.Fatal(err)
		}
	}
	install("ticker")
	h := startHostIn(t, dir, false) // reloads come from the page only
	for i := range 3 {
		h.schedule(t, abi.ScheduleRequest{Plugin: "ticker", Method: "tick", Args: rawArgs(t, map[string]any{"n": i}), Delay: "1h"})
	}
	b := newBrowser(t)
	b.open(t, h.url+"/#plugins")
	b.run(t, "the plugins view", waitFor(`document.querySelector('#plugin-list [data-plugin="ticker"] .version')?.textContent === "1.0.0"`))

	install("ticker_v3") // tick(n) takes a string: the 3 stored calls would break
	b.run(t, "reload from the page", chromedp.Click(chromedp.CSS(`#reload-plugins`)),
		waitFor(`document.querySelector(".reload-result")?.textContent.includes("refused ticker 3.0.0")`),
		waitFor(`!!document.querySelector('#plugin-list [data-plugin="ticker"] .refused')`))
	refused := evaluate[string](t, b, `document.querySelector('#plugin-list [data-plugin="ticker"] .refused').innerText`)
	for _, want := range []string{"Version 3.0.0 (ticker.wasm) refused", "3 stored calls would break", "tick 3 · args mismatch"} {
		if !strings.Contains(refused, want) {
			t.Errorf("the refused candidate shows %q, want %q in it", refused, want)
		}
	}
	if v := evaluate[string](t, b, `document.querySelector('#plugin-list [data-plugin="ticker"] .version').textContent`); v != "1.0.0" {
		t.Errorf("the running version shows as %q, want 1.0.0", v)
	}
	saveViews(t, b, h.url, "plugins-refused", "#plugins", false)

	install("ticker_v2") // compatible: swapped in
	b.run(t, "reload a compatible version", chromedp.Click(chromedp.CSS(`#reload-plugins`)),
		waitFor(`document.querySelector(".reload-result")?.textContent.includes("swapped ticker 1.0.0 → 2.0.0")`),
		waitFor(`document.querySelector('#plugin-list [data-plugin="ticker"] .version')?.textContent === "2.0.0"`),
		waitFor(`!document.querySelector('#plugin-list [data-plugin="ticker"] .refused')`))

	// The history says which version ran a call.
	tock := h.schedule(t, abi.ScheduleRequest{Plugin: "ticker", Method: "tock"})
	if e := h.waitHistory(t, tock.ID, abi.OutcomeSucceeded); e.PluginVersion != "2.0.0" {
		t.Errorf("the API says tock ran on %q, want 2.0.0", e.PluginVersion)
	}
	b.run(t, "the version in the history", chromedp.Navigate(fmt.Sprintf("%s/#history/ticker/tock/%d", h.url, tock.ID)),
		waitFor(fmt.Sprintf(`!!document.querySelector('#history-list [data-call="%d"] details')`, tock.ID)),
		chromedp.Evaluate[chromedp.Void](`document.querySelector("#history-list details").setAttribute("open", ""); undefined`))
	if text := evaluate[string](t, b, `document.querySelector("#history-list details").innerText`); !strings.Contains(text, "Plugin version\n2.0.0") {
		t.Errorf("the history's details show %q, want the plugin version 2.0.0", text)
	}
}
