// Package testplugins locates the plugins the host's tests load: the test plugins that
// `make testplugins` builds from this directory, and the example plugins that `make
// plugins` builds into plugins/. A missing file fails the test, naming the make target
// that builds it: tests never skip for want of a plugin.
//
// Test plugins (file name = plugin name unless said otherwise):
//
//   - noop (WAT): noop() does nothing, with no imports: the cheapest possible call.
//   - tightloop (WAT): run() counts to 10 million in a tight loop.
//   - hostile (WAT): ok, trap, loop, spin, grow, recurse, flood, spam, exit, badptr;
//     each misbehaves one way (see wat/hostile.wat).
//   - gofetch (Go): get(url) GETs url with net/http's client on the SDK's
//     fchttp.Transport and logs "<status line> | <Content-Type> | <body>", or fails
//     with the client's error.
//   - probe (Go): a well-behaved plugin whose calls show what they did:
//     echo(text) logs "echo: <text>"; record(label) schedules echo(label) with the
//     identifier "probe-<label>"; fail(message) fails with message; sleep(ms) sleeps and
//     busy(ms) busy-waits ms milliseconds; schedule(request) passes a raw schedule
//     request (any JSON) to fc.schedule and fails with the host's reason when refused;
//     scheduleThenFail(request) does the same and then fails; chain(left) logs
//     "chain <left>" and, while left > 0, schedules chain(left-1) with its identifier;
//     cancel(identifier) logs "cancel <identifier>: <count>"; cancelMany(identifier,
//     times) calls fc.cancel times times, failing at the first refusal; alloc(mb) allocates and
//     keeps mb MiB; exit(code) calls os.Exit; panic(message) panics; stdout(text) prints
//     text to stdout and stderr; counter() logs "counter <n>", n counting its calls on
//     the instance; typed(signup, tags, at, limits, note?) takes typed parameters.
//     Sandbox probes, which log what they got and succeed either way: readFile(path)
//     logs "readFile <path>: ok <bytes>" or "readFile <path>: error <reason>" and the
//     same for listing "/" and "."; env(name) logs "env <name>: set=<bool> value=<v>;
//     <n> variables, args [...]"; dial(address) logs "dial <address>: error <reason>"
//     (or "connected") and "dial: open descriptors [<fds 3-15 that answer>]".
//     nul(where) hands the host text it cannot store as it is: a NUL byte and invalid
//     UTF-8 in its error message ("error"), a NUL in a follow-up's arguments
//     ("schedule"), or on stderr before exiting with code 5 ("stderr").
//   - tablebomb (WAT): bomb() grows its table (no declared maximum) by 2^27 elements and
//     succeeds only when refused with -1; small() grows it by 8; size() logs "table
//     size <n>".
//   - recurse (WAT): plain(), locals() (300 live i64 locals a frame) and indirect()
//     (through call_indirect) recurse without end; shallow() recurses 100 deep and
//     succeeds.
//   - membomb (WAT): fill() grows its memory a page at a time to the cap, writing into
//     every 4 KiB, then succeeds; churn() logs "churning" and writes to its memory
//     forever.
//   - bufferbomb (WAT): fill() schedules 64 KiB follow-ups until refused with -2, then
//     fails with the host's reason (fc.last_error).
//   - cancelbad (WAT): bad() calls fc.cancel with four identifiers the API refuses and
//     fails unless each is refused with -1; loop() repeats a bad one until refused with
//     -2 (see wat/cancelbad.wat).
//   - fetch (WAT): outbound HTTP and configuration: fetch(request) passes an fc.http
//     request object to fc.http and logs the response document, or fails with
//     "fc.http -<code>: <reason>"; retry(request) does the same, then fails; loop(request)
//     repeats the request until refused; config(key) reads fc.config(key) and logs the
//     value, or POSTs it to the URL of its "sink" value when it has one (see
//     wat/fetch.wat).
//   - state (WAT): keeps state with fc.state_*: incr() increments the decimal counter
//     under "counter" (get then put); doomed() writes "doomed" and fails; own() reads
//     its own writes; big(), wrong(), flood() and loop() succeed only when the host
//     refuses an oversized value, bad keys, writes and reads beyond the limits; many()
//     writes 20 keys (see wat/state.wat).
//   - thumbs (WAT): a subscriber: its manifest subscribes makeThumbnail(imageId: integer,
//     path: string) to the topic "image.uploaded"; makeThumbnail logs its envelope and
//     succeeds. probe subscribes indexImage(imageId, path, size?) to the same topic, and
//     sleep(ms) to "work.slow";
//     probe's publish(request) and publishThenFail(request) pass a raw message to
//     fc.publish (the latter then fails).
//   - gallery (C, sdk/c): archive(imageId, path, size?) subscribes to "image.uploaded"
//     and logs "archive <imageId> <path>"; announce(imageId) publishes
//     {"imageId", "path": "gallery/<imageId>.png"} there with the identifier
//     "gallery-<imageId>" (see c/gallery.c).
//   - liar (WAT): declares work() and ghost(), but its fc_invoke knows only work: ghost
//     fails with "liar: no call named ghost here".
//   - probe_v2.wasm (WAT): a candidate next version of probe (its manifest says
//     "probe"): echo, sleep and counter unchanged, record(label) takes an integer, the
//     other calls are gone; its calls do nothing. For the pre-deploy check.
//   - ticker.wasm, ticker_v2.wasm, ticker_v3.wasm (WAT): three versions of the plugin
//     "ticker" (1.0.0, 2.0.0, 3.0.0) for the hot-reload tests. 1.0.0 has tick(n integer)
//     and slow(), which sleeps 1.5 s; 2.0.0 adds tock(), a compatible change; in 3.0.0
//     tick(n) takes a string, which breaks every stored tick call. Other calls do nothing.
//   - refused at load: badmanifest (manifest not JSON), badabi (ABI 2), badschema (a
//     schema that does not compile), noexport (no fc_invoke), wrongtype (fc_invoke as
//     (i32) -> i32), foreign (imports env.now), memimport (imports its memory),
//     badimport (fc.log with a wrong type), command (exports _start), fcunknown (imports fc.sleep), initfail
//     (_initialize traps), bigmem (128 MiB of initial memory), cannotrun (declares
//     calls, but its fc_invoke is a global), invalid.wasm (not WebAssembly),
//     noop_duplicate.wasm (a copy of noop: a second plugin named noop).
//
// It is for tests only: the depguard rule of .golangci.yml keeps it out of non-test code.
package testplugins

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// root is the repository's root directory, found from this file's path.
func root(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("testplugins: cannot locate the source directory")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// Dir returns the directory `make testplugins` builds the test plugins into.
func Dir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(root(t), "host", "internal", "testplugins", "build")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("test plugins are not built (%v): run make testplugins", err)
	}
	return dir
}

// CacheDir returns a wazero compilation cache directory that outlives the test run (in
// the build directory), so that the test plugins are compiled once, not once per run or
// per test: compiling a Go plugin takes seconds, many more under the race detector.
func CacheDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(Dir(t), ".wazero-cache")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("testplugins: %v", err)
	}
	return dir
}

// Path returns the file of the named test plugin ("probe", "invalid").
func Path(t testing.TB, name string) string {
	t.Helper()
	return mustExist(t, filepath.Join(Dir(t), name+".wasm"), "make testplugins")
}

// Example returns the file of the named example plugin ("example", "drip") in plugins/.
func Example(t testing.TB, name string) string {
	t.Helper()
	return mustExist(t, filepath.Join(root(t), "plugins", name+".wasm"), "make plugins")
}

// Bench returns the path of one of the benchmarks' plugins (bench/plugins), failing the
// test when it is not built.
func Bench(t testing.TB, name string) string {
	t.Helper()
	return mustExist(t, filepath.Join(root(t), "bench", "build", name+".wasm"), "make bench/build/"+name+".wasm")
}

func mustExist(t testing.TB, file, target string) string {
	t.Helper()
	if _, err := os.Stat(file); err != nil {
		t.Fatalf("plugin %s is not built (%v): run %s", filepath.Base(file), err, target)
	}
	return file
}

// DirWith returns a new directory, removed when the test ends, that holds links to the
// given plugin files under their own names: a plugins directory with just those.
func DirWith(t testing.TB, files ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range files {
		abs, err := filepath.Abs(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(abs, filepath.Join(dir, filepath.Base(f))); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
