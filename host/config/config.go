// Package config defines the host's configuration and loads it with koanf from four
// layers, each overriding the one before: defaults, a YAML file, environment variables
// (FC_ followed by the key in capitals with dots as underscores, e.g.
// FC_FUTURECALL_CONCURRENCYLIMIT), and command-line flags (--futureCall.concurrencyLimit).
//
// Keys keep Serverpod's names where Serverpod has them (futureCallExecutionEnabled,
// futureCall.concurrencyLimit, futureCall.scanInterval, checkBrokenCalls,
// deleteBrokenCalls), so its users feel at home. An unknown key, or a value of the wrong
// type, stops the load with an error naming the key and the layer it came from.
//
// Like every package under host/, this is the host's implementation, imported by
// cmd/host and, for measurement, by bench/; it is not a supported API and changes
// without notice. Plugins build on sdk/ and abi, clients on the REST API or sdk/client.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/egress"
	"github.com/futurecalls/futurecalls/host/plugin"
	"github.com/futurecalls/futurecalls/host/store"
)

// Roles the host can run in, by Serverpod's names.
const (
	RoleMonolith    = "monolith"    // API and executor
	RoleServerless  = "serverless"  // API only: calls are scheduled, never run here
	RoleMaintenance = "maintenance" // migrate, check stored calls against the plugins, exit
)

// Config is the host's whole configuration. The comment of each field that holds a
// value is that key's description in `host --help` and `host config --keys` (the field
// name and a leading "is" dropped), and closes with "Defaults to X.", X as YAML writes
// the default: a test holds every key to both.
type Config struct {
	// Role is what this host does: monolith (API and executor), serverless (API only)
	// or maintenance (migrate, check the stored calls against the plugins, exit).
	// Defaults to monolith.
	Role string `koanf:"role"`
	// Database says where the schedule is stored.
	Database Database `koanf:"database"`
	// FutureCallExecutionEnabled runs due calls on this host; false leaves them to other
	// hosts sharing the database, while the API still schedules them. Defaults to true.
	FutureCallExecutionEnabled bool `koanf:"futureCallExecutionEnabled"`
	// FutureCall tunes the executor.
	FutureCall FutureCall `koanf:"futureCall"`
	// CheckBrokenCalls steers the start-up check of the stored calls against the
	// plugins: true always checks, false never, null only when fewer than 1000 calls
	// are stored. Defaults to null.
	CheckBrokenCalls *bool `koanf:"checkBrokenCalls"`
	// DeleteBrokenCalls deletes the broken calls the start-up check finds, recording
	// each in the history; needs the check to run. Defaults to false.
	DeleteBrokenCalls bool `koanf:"deleteBrokenCalls"`
	// DeleteUnavailableCalls deletes the calls whose plugin is not loaded, which the
	// check reports apart from the broken ones as they wait for a host that has the
	// plugin; valid only with role maintenance, a one-off run, so that no serving host
	// deletes them during a rolling deploy. Defaults to false.
	DeleteUnavailableCalls bool `koanf:"deleteUnavailableCalls"`
	// API configures the REST API.
	API API `koanf:"api"`
	// Plugins says where plugins are loaded from.
	Plugins Plugins `koanf:"plugins"`
	// Sandbox holds the limits every plugin runs under, with per-plugin overrides.
	Sandbox Sandbox `koanf:"sandbox"`
	// Log configures the host's own log.
	Log Log `koanf:"log"`
}

// Database says where the schedule is stored.
type Database struct {
	// URL is the PostgreSQL database that stores the schedule
	// (postgres://user:pass@host:5432/db); empty runs a private PostgreSQL cluster
	// (database.embedded). Defaults to "".
	URL string `koanf:"url" secret:"true"`
	// MaxConns caps the database connection pool; 0 picks 10, plus the executor's
	// concurrency limit (at most 100 more) when it has one. Defaults to 0.
	MaxConns int `koanf:"maxConns"`
	// Pooler says what database.url leads to: none (PostgreSQL itself, or a pooler in
	// session mode) or transaction (PgBouncer's pool_mode = transaction, or another
	// pooler that hands out a server connection per transaction). With transaction the
	// host uses no named prepared statements (pgx's cache_describe mode), and LISTEN and
	// the migrations go through database.listenUrl. Defaults to none.
	Pooler string `koanf:"pooler"`
	// ListenURL is a direct URL of the same database, bypassing the pooler, for LISTEN
	// (the wake-ups of calls due soon) and for the migrations' session lock. Without it,
	// behind a transaction pooler, wake-ups are off (the scans every
	// futureCall.scanInterval find due calls) and the migrations lock a table instead.
	// Defaults to "".
	ListenURL string `koanf:"listenUrl" secret:"true"`
	// Embedded configures the private cluster used when URL is empty.
	Embedded Embedded `koanf:"embedded"`
}

// The values of database.pooler.
const (
	// PoolerNone: database.url leads to PostgreSQL, or to a pooler in session mode.
	PoolerNone = "none"
	// PoolerTransaction: database.url leads to a pooler in transaction mode.
	PoolerTransaction = "transaction"
)

// Embedded configures the private PostgreSQL cluster.
type Embedded struct {
	// Dir is the private cluster's data directory, created and initialised on first
	// run. Defaults to var/postgres.
	Dir string `koanf:"dir"`
	// BinDir is the directory of the private cluster's initdb and postgres; empty
	// searches PATH and /usr/lib/postgresql. Defaults to "".
	BinDir string `koanf:"binDir"`
	// User runs the private cluster when the host runs as root (PostgreSQL refuses
	// root); empty picks postgres, then nobody. Defaults to "".
	User string `koanf:"user"`
}

// FutureCall tunes the executor.
type FutureCall struct {
	// ConcurrencyLimit is how many calls run at once on this host; negative or null =
	// unlimited, 0 is refused (set futureCallExecutionEnabled to false to run
	// nothing). Defaults to 1.
	ConcurrencyLimit *int `koanf:"concurrencyLimit" nullable:"true"`
	// Prefetch is how many claimed calls may wait on this host for a free slot
	// beyond the concurrencyLimit running ones, so that the next claim overlaps with
	// the running calls instead of a slot waiting for its round trip. A waiting call
	// holds its claim: set 0 when calls are long and several hosts share the work, so
	// that a free host is never kept from a call another one holds. Null = as many as
	// concurrencyLimit; at most 1000; unused when unlimited. Defaults to null.
	Prefetch *int `koanf:"prefetch" nullable:"true"`
	// ScanInterval is the time between scans for due calls, in milliseconds; calls
	// scheduled before the next scan wake the executor on their own. Defaults to 5000.
	ScanInterval int `koanf:"scanInterval"`
	// ClaimLeaseMargin is added to a call's time limit to form its claim lease: a call
	// still claimed that long after it started belongs to a host that died.
	// Defaults to 1m.
	ClaimLeaseMargin Duration `koanf:"claimLeaseMargin"`
	// ShutdownGrace is how long running calls may finish on shutdown before they are
	// cancelled and recorded as interrupted. Defaults to 30s.
	ShutdownGrace Duration `koanf:"shutdownGrace"`
	// HistoryRetention is how long finished calls stay in the history; 0 keeps them.
	// Defaults to 720h.
	HistoryRetention Duration `koanf:"historyRetention"`
}

// API configures the REST API.
type API struct {
	// Listen is the address the API listens on; an address other than loopback
	// requires api.tokens. Defaults to 127.0.0.1:8080.
	Listen string `koanf:"listen"`
	// Tokens are the accepted bearer tokens, 16 characters or more; none means no
	// authentication, for loopback clients only. Defaults to [].
	Tokens []string `koanf:"tokens" secret:"true"`
	// BodyLimit caps the body of an API request. Defaults to 1MiB.
	BodyLimit ByteSize `koanf:"bodyLimit"`
	// PageBytes caps the rows of one page of GET /v1/calls and /v1/history: a page
	// ends early, with a nextCursor, once its rows reach it, which bounds the host's
	// memory for one listing. Defaults to 4MiB.
	PageBytes ByteSize `koanf:"pageBytes"`
}

// Plugins says where plugins are loaded from.
type Plugins struct {
	// Dir is the plugins directory, scanned for *.wasm files at start-up and at
	// every reload. Defaults to plugins.
	Dir string `koanf:"dir"`
	// CacheDir keeps wazero's compiled code across restarts; empty keeps it in
	// memory. Defaults to var/cache/wazero.
	CacheDir string `koanf:"cacheDir"`
	// Reload says how plugins are reloaded while the host runs.
	Reload Reload `koanf:"reload"`
}

// Reload configures hot reload: besides the watch, SIGHUP and POST /v1/plugins/reload
// reload the plugins directory.
type Reload struct {
	// Watch reloads the plugins directory when a *.wasm file in it changes.
	// Defaults to true.
	Watch bool `koanf:"watch"`
	// OnBreaking is what a reload does with a new version of a plugin that would break
	// stored calls: refuse (the running version stays), accept (swap; the broken calls
	// fail as broken when due) or delete (swap, and move the broken calls into the
	// history as deleted_broken). Defaults to refuse.
	OnBreaking string `koanf:"onBreaking"`
	// Settle is how long a new or changed file must keep its size and hash before it is
	// loaded, so that a file still being copied is not. Defaults to 250ms.
	Settle Duration `koanf:"settle"`
}

// Sandbox holds the limits every plugin runs under; Plugins overrides them by plugin
// name (keys left out of an override keep the default; an override cannot turn off
// Fresh when the default turns it on).
type Sandbox struct {
	Limits `koanf:",squash"`
	// Plugins are limits by plugin name, in YAML only (sandbox.plugins.<name>.<key>).
	Plugins map[string]Limits `koanf:"plugins"`
}

// Limits are the sandbox limits of one plugin.
type Limits struct {
	// MemoryLimit caps the linear memory of each plugin instance. Defaults to 64MiB.
	MemoryLimit ByteSize `koanf:"memoryLimit"`
	// TableLimit caps each function table of a plugin instance, in elements:
	// table.grow beyond it returns -1 to the guest. Defaults to 65536.
	TableLimit int64 `koanf:"tableLimit"`
	// StackLimit caps the call stack of one call, counted by the sandbox's stack
	// budget: deeper calls trap with a stack overflow. Defaults to 8MiB.
	StackLimit ByteSize `koanf:"stackLimit"`
	// Timeout is the time limit of one call. Defaults to 30s.
	Timeout Duration `koanf:"timeout"`
	// OutputLimit caps the log, stdout and stderr bytes of one call. Defaults to 64KiB.
	OutputLimit ByteSize `koanf:"outputLimit"`
	// MaxFollowUps caps the fc.schedule and fc.cancel requests of one call, refused
	// ones included. Defaults to 1000.
	MaxFollowUps int `koanf:"maxFollowUps"`
	// BufferLimit caps the bytes of the fc.schedule requests and fc.cancel identifiers
	// one call has had accepted, which the host keeps until its outcome is recorded.
	// Defaults to 4MiB.
	BufferLimit ByteSize `koanf:"bufferLimit"`
	// State bounds what a plugin keeps in its state (fc.state_*).
	State StateLimits `koanf:"state"`
	// Fresh gives every call a new plugin instance (strict isolation, slower) instead
	// of a warm one from the pool. Defaults to false.
	Fresh bool `koanf:"fresh"`
	// PoolSize caps the warm plugin instances kept idle. Defaults to 8.
	PoolSize int `koanf:"poolSize"`
	// RecycleAbove discards a plugin instance after its call when its memory has grown
	// beyond this size, so idle instances hold at most poolSize × recycleAbove; 0
	// means twice the memory of a fresh instance. Defaults to 0.
	RecycleAbove ByteSize `koanf:"recycleAbove"`
	// HTTP caps the plugins' outbound HTTP requests (fc.http) and, per plugin, says
	// what each may reach.
	HTTP HTTP `koanf:"http"`
	// Config holds the values a plugin reads with fc.config, by key (keys without
	// dots); in YAML only, per plugin (sandbox.plugins.<name>.config). A value
	// "env:NAME" is the host's environment variable NAME and "file:/path" the content of
	// a file without its final newline: secrets, read at start-up, shown nowhere.
	// "literal:" in front of a value that starts with one of these prefixes keeps it as
	// it is.
	Config map[string]string `koanf:"config" perplugin:"true"`
	// Concurrency caps the plugin's calls running at once on this host, so that a spike
	// of them waits its turn while other plugins' calls keep running; per plugin only
	// (sandbox.plugins.<name>.concurrency). Defaults to 0: no cap beyond the host's.
	Concurrency int `koanf:"concurrency" perplugin:"true"`
	// Rate caps the plugin's calls started per second on this host (each host sharing
	// the database allows as many); per plugin only (sandbox.plugins.<name>.rate).
	// Defaults to 0: no cap.
	Rate float64 `koanf:"rate" perplugin:"true"`
	// Burst is how many of the plugin's calls may start at once under its rate; per
	// plugin only. Defaults to 0: the rate rounded up.
	Burst int `koanf:"burst" perplugin:"true"`
	// Retry is a retry policy for calls that give none. Under sandbox it is the last
	// resort (a plugin manifest's policy beats it); under sandbox.plugins.<name> it is
	// the operator's word for that plugin and beats the manifest's. A call's own policy
	// beats both.
	Retry Retry `koanf:"retry"`
}

// HTTP caps the plugins' outbound HTTP requests and grants them, per plugin.
type HTTP struct {
	// Allow lists what a plugin may reach, as scheme://host[:port] entries (a host
	// glob *.example.com, an IP address, :* for any port); per plugin only
	// (sandbox.plugins.<name>.http.allow). Defaults to [].
	Allow []string `koanf:"allow" perplugin:"true"`
	// MaxRequests caps the fc.http requests of one call, refused ones included.
	// Defaults to 16.
	MaxRequests int `koanf:"maxRequests"`
	// RequestLimit caps the body of one fc.http request. Defaults to 1MiB.
	RequestLimit ByteSize `koanf:"requestLimit"`
	// ResponseLimit caps the body of one fc.http response; beyond it the connection
	// is closed and the request refused. Defaults to 1MiB.
	ResponseLimit ByteSize `koanf:"responseLimit"`
}

// StateLimits bound a plugin's state and what one call does with it.
type StateLimits struct {
	// ValueLimit caps one value fc.state_put writes. Defaults to 64KiB.
	ValueLimit ByteSize `koanf:"valueLimit"`
	// WriteLimit caps the bytes (keys and values) of the fc.state_put and
	// fc.state_delete requests of one call, which the host keeps until its outcome is
	// recorded. Defaults to 1MiB.
	WriteLimit ByteSize `koanf:"writeLimit"`
	// KeyLimit caps the keys a plugin's state holds: a call whose writes would exceed it
	// fails when it commits. Defaults to 10000.
	KeyLimit int64 `koanf:"keyLimit"`
	// MaxReads caps the fc.state_get requests of one call, refused ones included (each
	// reads the database). Defaults to 1000.
	MaxReads int `koanf:"maxReads"`
}

// Retry is a retry policy for calls that give none.
type Retry struct {
	// MaxAttempts counts every attempt of a call that fails, the first included
	// (1 = no retry). Defaults to 1.
	MaxAttempts int `koanf:"maxAttempts"`
	// Backoff is the wait before the first retry, doubled for each further one.
	// Defaults to 1s.
	Backoff Duration `koanf:"backoff"`
	// MaxBackoff caps the wait between two attempts. Defaults to 1h.
	MaxBackoff Duration `koanf:"maxBackoff"`
}

// Log configures the host's own log.
type Log struct {
	// Level is the least severe level logged: debug, info, warn or error.
	// Defaults to info.
	Level string `koanf:"level"`
	// Format is the log's format: text or json. Defaults to text.
	Format string `koanf:"format"`
}

// Default returns the configuration used where no layer says otherwise. Values that
// a package of the host defaults to on its own are taken from that package, so the
// two cannot drift apart: the sandbox limits from plugin.DefaultLimits, the retry
// policy from abi.NoRetry, the page budget from store.DefaultPageBytes. (The body
// limit repeats api.DefaultBodyLimit, as package api imports this one; a test in
// host/app keeps them equal.)
func Default() Config {
	one := 1
	return Config{
		Role:                       RoleMonolith,
		Database:                   Database{Pooler: PoolerNone, Embedded: Embedded{Dir: "var/postgres"}},
		FutureCallExecutionEnabled: true,
		FutureCall: FutureCall{
			ConcurrencyLimit: &one,
			ScanInterval:     5000,
			ClaimLeaseMargin: Duration(time.Minute),
			ShutdownGrace:    Duration(30 * time.Second),
			HistoryRetention: Duration(30 * 24 * time.Hour),
		},
		API: API{Listen: "127.0.0.1:8080", BodyLimit: 1 << 20, PageBytes: store.DefaultPageBytes},
		Plugins: Plugins{Dir: "plugins", CacheDir: "var/cache/wazero",
			Reload: Reload{Watch: true, OnBreaking: "refuse", Settle: Duration(250 * time.Millisecond)}},
		Sandbox: Sandbox{Limits: limitsFrom(plugin.DefaultLimits(), abi.NoRetry)},
		Log:     Log{Level: "info", Format: "text"},
	}
}

// limitsFrom converts the sandbox's limits and a retry policy to their configuration.
func limitsFrom(l plugin.Limits, r abi.Retry) Limits {
	return Limits{
		MemoryLimit:  ByteSize(l.MemoryLimit),
		TableLimit:   l.TableLimit,
		StackLimit:   ByteSize(l.StackLimit),
		Timeout:      Duration(l.Timeout),
		OutputLimit:  ByteSize(l.OutputLimit),
		MaxFollowUps: l.MaxFollowUps,
		BufferLimit:  ByteSize(l.BufferLimit),
		State: StateLimits{ValueLimit: ByteSize(l.StateValueLimit), WriteLimit: ByteSize(l.StateWriteLimit),
			KeyLimit: l.StateKeyLimit, MaxReads: l.MaxStateReads},
		Fresh:        l.Fresh,
		PoolSize:     l.PoolSize,
		RecycleAbove: ByteSize(l.RecycleAbove),
		HTTP: HTTP{MaxRequests: l.HTTPMaxRequests, RequestLimit: ByteSize(l.HTTPRequestLimit),
			ResponseLimit: ByteSize(l.HTTPResponseLimit)},
		Retry: Retry{MaxAttempts: r.MaxAttempts, Backoff: Duration(r.Backoff), MaxBackoff: Duration(r.MaxBackoff)},
	}
}

// maxPrefetch bounds futureCall.prefetch: the executor holds that many claimed calls
// in memory, and more only lengthens the time they wait on one host.
const maxPrefetch = 1000

// PrefetchLimit returns executor.Options.Prefetch: 0 for as many as the concurrency
// limit (null), -1 for none (0).
func (c FutureCall) PrefetchLimit() int {
	switch {
	case c.Prefetch == nil:
		return 0
	case *c.Prefetch == 0:
		return -1
	}
	return *c.Prefetch
}

// Concurrency returns the executor's concurrency limit, or -1 for unlimited.
func (c FutureCall) Concurrency() int {
	if c.ConcurrencyLimit == nil || *c.ConcurrencyLimit < 0 {
		return -1
	}
	return *c.ConcurrencyLimit
}

// PluginRetry returns the retry policy the operator set for the named plugin, its
// unset fields taken from the default policy, and whether there is one.
func (s Sandbox) PluginRetry(name string) (Retry, bool) {
	r := s.Plugins[name].Retry
	if r.MaxAttempts == 0 {
		return Retry{}, false
	}
	if r.Backoff == 0 {
		r.Backoff = s.Retry.Backoff
	}
	if r.MaxBackoff == 0 {
		r.MaxBackoff = s.Retry.MaxBackoff
	}
	return r, true
}

// Validate checks the values a type cannot express. Errors name the key.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	switch c.Role {
	case RoleMonolith, RoleServerless, RoleMaintenance:
	default:
		bad("role", "must be %s, %s or %s, got %q", RoleMonolith, RoleServerless, RoleMaintenance, c.Role)
	}
	if c.FutureCall.ConcurrencyLimit != nil && *c.FutureCall.ConcurrencyLimit == 0 {
		bad("futureCall.concurrencyLimit", "0 would run nothing: set futureCallExecutionEnabled: false for that, or a negative number (or null) for unlimited")
	}
	if p := c.FutureCall.Prefetch; p != nil && (*p < 0 || *p > maxPrefetch) {
		bad("futureCall.prefetch", "must be 0 to %d, got %d: 0 claims no more calls than there are free slots, null as many more as concurrencyLimit", maxPrefetch, *p)
	}
	if c.FutureCall.ScanInterval <= 0 {
		bad("futureCall.scanInterval", "must be a positive number of milliseconds, got %d", c.FutureCall.ScanInterval)
	}
	if c.FutureCall.ClaimLeaseMargin <= 0 {
		bad("futureCall.claimLeaseMargin", "must be positive")
	}
	if c.FutureCall.ShutdownGrace < 0 {
		bad("futureCall.shutdownGrace", "must not be negative")
	}
	if c.FutureCall.HistoryRetention < 0 {
		bad("futureCall.historyRetention", "must not be negative (0 keeps the history forever)")
	}
	if c.DeleteBrokenCalls && c.CheckBrokenCalls != nil && !*c.CheckBrokenCalls {
		bad("deleteBrokenCalls", "is true but checkBrokenCalls is false: broken calls can only be deleted when the check runs")
	}
	if c.DeleteUnavailableCalls && c.Role != RoleMaintenance {
		bad("deleteUnavailableCalls", "is only valid with role %s: a serving host must never delete the calls other hosts may run", RoleMaintenance)
	}
	if c.DeleteUnavailableCalls && c.CheckBrokenCalls != nil && !*c.CheckBrokenCalls {
		bad("deleteUnavailableCalls", "is true but checkBrokenCalls is false: calls can only be deleted when the check runs")
	}
	if c.Database.URL != "" {
		if u, err := url.Parse(c.Database.URL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			bad("database.url", "must be a postgres:// URL")
		}
	} else if c.Database.Embedded.Dir == "" {
		bad("database.embedded.dir", "must be set when database.url is empty")
	}
	if c.Database.MaxConns < 0 {
		bad("database.maxConns", "must not be negative")
	}
	if c.Database.Pooler != PoolerNone && c.Database.Pooler != PoolerTransaction {
		bad("database.pooler", "must be %s or %s", PoolerNone, PoolerTransaction)
	}
	if c.Database.ListenURL != "" {
		if u, err := url.Parse(c.Database.ListenURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			bad("database.listenUrl", "must be a postgres:// URL")
		} else if c.Database.URL == "" {
			bad("database.listenUrl", "needs database.url: the embedded database is reached directly")
		}
	}
	if err := checkListen(c.API); err != nil {
		bad("api.listen", "%v", err)
	}
	for i, t := range c.API.Tokens {
		if len(t) < 16 {
			bad(fmt.Sprintf("api.tokens[%d]", i), "is shorter than 16 characters: use a long random token")
		}
	}
	if c.API.BodyLimit < 1024 {
		bad("api.bodyLimit", "must be at least 1KiB")
	}
	if c.API.PageBytes < 64<<10 {
		bad("api.pageBytes", "must be at least 64KiB")
	}
	if c.Plugins.Dir == "" {
		bad("plugins.dir", "must be set")
	}
	switch c.Plugins.Reload.OnBreaking {
	case "refuse", "accept", "delete":
	default:
		bad("plugins.reload.onBreaking", "must be refuse, accept or delete, got %q", c.Plugins.Reload.OnBreaking)
	}
	if c.Plugins.Reload.Settle <= 0 {
		bad("plugins.reload.settle", "must be positive")
	}
	checkLimits := func(prefix string, l Limits) {
		if l.MemoryLimit != 0 && l.MemoryLimit < 64<<10 {
			bad(prefix+"memoryLimit", "must be at least one 64KiB page")
		}
		if l.MemoryLimit > 4<<30 {
			bad(prefix+"memoryLimit", "must be at most 4GiB (32-bit WebAssembly)")
		}
		if l.TableLimit < 0 || l.TableLimit > 1<<28 {
			bad(prefix+"tableLimit", "must be between 1 and 268435456 elements")
		}
		if l.StackLimit != 0 && (l.StackLimit < 64<<10 || l.StackLimit > 1<<30) {
			bad(prefix+"stackLimit", "must be between 64KiB and 1GiB")
		}
		if l.Timeout < 0 || l.MaxFollowUps < 0 || l.PoolSize < 0 {
			bad(prefix+"*", "limits must not be negative")
		}
		if l.HTTP.MaxRequests < 0 {
			bad(prefix+"http.maxRequests", "must not be negative")
		}
		if l.State.KeyLimit < 0 || l.State.MaxReads < 0 {
			bad(prefix+"state.*", "limits must not be negative")
		}
		if l.Concurrency < 0 || l.Rate < 0 || l.Burst < 0 {
			bad(prefix+"concurrency", "concurrency, rate and burst must not be negative")
		}
	}
	checkLimits("sandbox.", c.Sandbox.Limits)
	if len(c.Sandbox.HTTP.Allow) > 0 {
		bad("sandbox.http.allow", "access is granted per plugin: set sandbox.plugins.<name>.http.allow")
	}
	if len(c.Sandbox.Config) > 0 {
		bad("sandbox.config", "configuration is per plugin: set sandbox.plugins.<name>.config")
	}
	if c.Sandbox.Timeout <= 0 {
		bad("sandbox.timeout", "must be positive")
	}
	// Retry policies follow the rules of the ones calls and manifests give.
	checkRetry := func(prefix string, r Retry) {
		if err := (abi.Retry{MaxAttempts: r.MaxAttempts, Backoff: r.Backoff.D(), MaxBackoff: r.MaxBackoff.D()}).Check(); err != nil {
			errs = append(errs, fmt.Errorf("%s%w", prefix, err)) // "sandbox.retry.maxAttempts: …"
		}
	}
	checkRetry("sandbox.", c.Sandbox.Retry)
	for name, l := range c.Sandbox.Plugins {
		checkLimits("sandbox.plugins."+name+".", l)
		if _, err := egress.ParseAllow(l.HTTP.Allow); err != nil {
			bad("sandbox.plugins."+name+".http.allow", "%v", strings.ReplaceAll(err.Error(), "\n", "; "))
		}
		for key, value := range l.Config {
			if err := checkConfigValue(value); err != nil {
				bad("sandbox.plugins."+name+".config."+key, "%v", err)
			}
		}
		if r, ok := c.Sandbox.PluginRetry(name); ok {
			checkRetry("sandbox.plugins."+name+".", r)
		}
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "must be debug, info, warn or error, got %q", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format", "must be text or json, got %q", c.Log.Format)
	}
	return errors.Join(errs...)
}

// checkListen refuses an address that is not loopback unless tokens are configured.
func checkListen(a API) error {
	host, _, err := net.SplitHostPort(a.Listen)
	if err != nil {
		return fmt.Errorf("%q is not host:port: %w", a.Listen, err)
	}
	if len(a.Tokens) > 0 || IsLoopback(host) {
		return nil
	}
	return fmt.Errorf("%q is reachable from other machines but api.tokens is empty: set api.tokens (FC_API_TOKENS) or listen on 127.0.0.1", a.Listen)
}

// IsLoopback reports whether host names only this machine.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
