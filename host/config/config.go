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
)

// Roles the host can run in, by Serverpod's names.
const (
	RoleMonolith    = "monolith"    // API and executor
	RoleServerless  = "serverless"  // API only: calls are scheduled, never run here
	RoleMaintenance = "maintenance" // migrate, check stored calls against the plugins, exit
)

// Config is the host's whole configuration.
type Config struct {
	// Role is monolith (default), serverless or maintenance.
	Role string `koanf:"role"`
	// Database says where the schedule is stored.
	Database Database `koanf:"database"`
	// FutureCallExecutionEnabled switches the executor on (default) or off. Off, the API
	// still schedules calls; other hosts sharing the database run them.
	FutureCallExecutionEnabled bool `koanf:"futureCallExecutionEnabled"`
	// FutureCall tunes the executor.
	FutureCall FutureCall `koanf:"futureCall"`
	// CheckBrokenCalls steers the start-up check of stored calls against the plugins:
	// nil (unset, "auto") checks only when fewer than 1000 calls are stored; true always;
	// false never.
	CheckBrokenCalls *bool `koanf:"checkBrokenCalls"`
	// DeleteBrokenCalls deletes the broken calls the check finds, recording each in the
	// history. Valid only when the check can run.
	DeleteBrokenCalls bool `koanf:"deleteBrokenCalls"`
	// DeleteUnavailableCalls deletes the calls whose plugin is not loaded, which the
	// check reports apart from the broken ones: they wait for a host that has the
	// plugin. Valid only with role maintenance, a one-off run, so that no serving host
	// deletes them during a rolling deploy.
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
	// URL of a PostgreSQL database (postgres://user:pass@host:5432/db). Empty: the host
	// runs its own private PostgreSQL cluster (see Embedded).
	URL string `koanf:"url" secret:"true"`
	// MaxConns caps the connection pool; 0 picks 10, plus the executor's concurrency
	// limit (at most 100 more) when it has one.
	MaxConns int `koanf:"maxConns"`
	// Embedded configures the private cluster used when URL is empty.
	Embedded Embedded `koanf:"embedded"`
}

// Embedded configures the private PostgreSQL cluster.
type Embedded struct {
	// Dir holds the cluster's data; created and initialised on first run.
	Dir string `koanf:"dir"`
	// BinDir holds initdb and postgres; empty searches PATH and /usr/lib/postgresql.
	BinDir string `koanf:"binDir"`
	// User runs the cluster when the host runs as root (PostgreSQL refuses root);
	// empty picks "postgres", then "nobody".
	User string `koanf:"user"`
}

// FutureCall tunes the executor.
type FutureCall struct {
	// ConcurrencyLimit caps the calls running at once on this host. Default 1; a
	// negative number or null means unlimited; 0 is refused (to run nothing, set
	// futureCallExecutionEnabled to false).
	ConcurrencyLimit *int `koanf:"concurrencyLimit" nullable:"true"`
	// ScanInterval is the time between scans for due calls, in milliseconds. Calls
	// scheduled before the next scan wake the executor on their own.
	ScanInterval int `koanf:"scanInterval"`
	// ClaimLeaseMargin is added to a call's time limit to form its claim lease: a call
	// still claimed that long after it started belongs to a host that died.
	ClaimLeaseMargin Duration `koanf:"claimLeaseMargin"`
	// ShutdownGrace is how long in-flight calls may finish on shutdown before they are
	// cancelled and recorded as interrupted.
	ShutdownGrace Duration `koanf:"shutdownGrace"`
	// HistoryRetention is how long finished calls stay in the history; 0 keeps them.
	HistoryRetention Duration `koanf:"historyRetention"`
}

// API configures the REST API.
type API struct {
	// Listen is the address the API listens on. It defaults to loopback; any other
	// address requires Tokens.
	Listen string `koanf:"listen"`
	// Tokens are the accepted bearer tokens. Empty: no authentication (loopback only).
	Tokens []string `koanf:"tokens" secret:"true"`
	// BodyLimit caps a request body.
	BodyLimit ByteSize `koanf:"bodyLimit"`
	// PageBytes caps the rows of one page of GET /v1/calls and /v1/history: a page
	// ends early, with a nextCursor, once its rows reach it, which bounds the host's
	// memory for one listing. Defaults to 4MiB (store.DefaultPageBytes).
	PageBytes ByteSize `koanf:"pageBytes"`
}

// Plugins says where plugins are loaded from.
type Plugins struct {
	// Dir is scanned for *.wasm files at start-up.
	Dir string `koanf:"dir"`
	// CacheDir keeps wazero's compiled code across restarts; empty keeps it in memory.
	CacheDir string `koanf:"cacheDir"`
}

// Sandbox holds the limits every plugin runs under; Plugins overrides them by plugin
// name (keys left out of an override keep the default; an override cannot turn off
// Fresh when the default turns it on).
type Sandbox struct {
	Limits  `koanf:",squash"`
	Plugins map[string]Limits `koanf:"plugins"`
}

// Limits are the sandbox limits of one plugin.
type Limits struct {
	// MemoryLimit caps the linear memory of each instance ("64MiB").
	MemoryLimit ByteSize `koanf:"memoryLimit"`
	// TableLimit caps each function table of an instance, in elements: table.grow
	// beyond it returns -1 to the guest.
	TableLimit int64 `koanf:"tableLimit"`
	// StackLimit caps the call stack of one call ("8MiB", counted by the sandbox's
	// stack budget): deeper calls trap with a stack overflow.
	StackLimit ByteSize `koanf:"stackLimit"`
	// Timeout is the time limit of one call.
	Timeout Duration `koanf:"timeout"`
	// OutputLimit caps the log, stdout and stderr bytes of one call.
	OutputLimit ByteSize `koanf:"outputLimit"`
	// MaxFollowUps caps the fc.schedule and fc.cancel requests of one call, refused
	// ones included.
	MaxFollowUps int `koanf:"maxFollowUps"`
	// BufferLimit caps the bytes of the fc.schedule requests and fc.cancel identifiers
	// one call has accepted, which the host keeps until its outcome is recorded ("4MiB").
	BufferLimit ByteSize `koanf:"bufferLimit"`
	// Fresh gives every call a new instance (strict isolation, slower) instead of a
	// warm one from the pool.
	Fresh bool `koanf:"fresh"`
	// PoolSize caps the warm instances kept idle.
	PoolSize int `koanf:"poolSize"`
	// RecycleAbove discards an instance after its call when its memory has grown beyond
	// this size, so idle instances hold at most poolSize × recycleAbove; 0 means twice
	// the memory of a fresh instance.
	RecycleAbove ByteSize `koanf:"recycleAbove"`
	// Retry is a retry policy for calls that give none. Under sandbox it is the last
	// resort (a plugin manifest's policy beats it); under sandbox.plugins.<name> it is
	// the operator's word for that plugin and beats the manifest's. A call's own policy
	// beats both.
	Retry Retry `koanf:"retry"`
}

// Retry is a retry policy: MaxAttempts counts every attempt (1 = no retry).
type Retry struct {
	MaxAttempts int      `koanf:"maxAttempts"`
	Backoff     Duration `koanf:"backoff"`
	MaxBackoff  Duration `koanf:"maxBackoff"`
}

// Log configures the host's own log.
type Log struct {
	// Level is debug, info, warn or error.
	Level string `koanf:"level"`
	// Format is text or json.
	Format string `koanf:"format"`
}

// Default returns the configuration used where no layer says otherwise.
func Default() Config {
	one := 1
	return Config{
		Role:                       RoleMonolith,
		Database:                   Database{Embedded: Embedded{Dir: "var/postgres"}},
		FutureCallExecutionEnabled: true,
		FutureCall: FutureCall{
			ConcurrencyLimit: &one,
			ScanInterval:     5000,
			ClaimLeaseMargin: Duration(time.Minute),
			ShutdownGrace:    Duration(30 * time.Second),
			HistoryRetention: Duration(30 * 24 * time.Hour),
		},
		API:     API{Listen: "127.0.0.1:8080", BodyLimit: 1 << 20, PageBytes: 4 << 20},
		Plugins: Plugins{Dir: "plugins", CacheDir: "var/cache/wazero"},
		Sandbox: Sandbox{Limits: Limits{
			MemoryLimit:  64 << 20,
			TableLimit:   1 << 16, // plugin.DefaultTableLimit
			StackLimit:   8 << 20, // plugin.DefaultStackLimit
			Timeout:      Duration(30 * time.Second),
			OutputLimit:  64 << 10,
			MaxFollowUps: 1000,
			BufferLimit:  4 << 20,
			PoolSize:     8,
			Retry:        Retry{MaxAttempts: 1, Backoff: Duration(time.Second), MaxBackoff: Duration(time.Hour)},
		}},
		Log: Log{Level: "info", Format: "text"},
	}
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
	}
	checkLimits("sandbox.", c.Sandbox.Limits)
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
