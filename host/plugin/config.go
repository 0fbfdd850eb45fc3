package plugin

import (
	"errors"
	"fmt"
	"time"

	"github.com/futurecalls/futurecalls/host/egress"
)

// Config says where the plugins are and how each is confined.
type Config struct {
	// Dir is the plugins directory: every *.wasm file in it is loaded.
	Dir string
	// CacheDir keeps compiled modules between runs (wazero's compilation cache);
	// empty keeps them in memory only.
	CacheDir string
	// Defaults are every plugin's limits; zero fields take DefaultLimits().
	Defaults Limits
	// Overrides are limits by plugin name; zero fields take Defaults.
	Overrides map[string]Limits
	// Grants are what the operator lets each plugin reach, by plugin name; a plugin
	// without one may make no fc.http request and reads no fc.config value.
	Grants map[string]Grant
}

// Grant is what the operator lets one plugin use beyond its sandbox (abi/README.md,
// http and config).
type Grant struct {
	// HTTP makes the plugin's fc.http requests, within its allow-list; nil refuses
	// every request.
	HTTP *egress.Client
	// Config holds the values fc.config reads, secrets resolved.
	Config map[string]string
}

// Limits confine a plugin (abi/README.md, Limits and Instances).
type Limits struct {
	// MemoryLimit caps each instance's linear memory, in bytes (a multiple of the
	// 64 KiB WebAssembly page; rounded down).
	MemoryLimit int64
	// TableLimit caps each of an instance's function tables, in elements (8 bytes of
	// host memory each): table.grow beyond it returns -1, and a module whose table
	// starts larger is refused at load.
	TableLimit int64
	// StackLimit caps the native call stack of one call, in bytes of the budget the
	// instrumentation counts (see the package documentation, Sandbox): a call that
	// would exceed it traps with a stack overflow.
	StackLimit int64
	// Timeout is how long one call may run, instantiation included when the call needs
	// a new instance.
	Timeout time.Duration
	// OutputLimit caps the bytes one call may write to the log (fc.log, stdout and
	// stderr together); beyond it output is dropped and one "output truncated" line
	// logged.
	OutputLimit int64
	// MaxFollowUps is how many fc.schedule and fc.cancel requests one call may make,
	// refused ones included.
	MaxFollowUps int
	// BufferLimit caps the bytes of the fc.schedule requests (their JSON) and fc.cancel
	// identifiers one call has had accepted: the host keeps them until the call's
	// outcome is recorded, so this bounds what a call can park in the host's memory
	// (without it, 1000 follow-ups of 1 MiB each: about 1 GiB).
	BufferLimit int64
	// HTTPMaxRequests is how many fc.http requests one call may make, refused ones
	// included.
	HTTPMaxRequests int
	// HTTPRequestLimit caps the body of one fc.http request, in bytes.
	HTTPRequestLimit int64
	// HTTPResponseLimit caps the body of one fc.http response, in bytes: beyond it the
	// connection is closed and fc.http returns -2.
	HTTPResponseLimit int64
	// StateValueLimit caps the bytes of one value fc.state_put may write.
	StateValueLimit int64
	// StateWriteLimit caps the bytes (keys and values) of the fc.state_put and
	// fc.state_delete requests of one call: the host keeps them until the call's
	// outcome is recorded.
	StateWriteLimit int64
	// StateKeyLimit caps the keys a plugin's state holds; a call whose writes would
	// exceed it fails when it commits.
	StateKeyLimit int64
	// MaxStateReads is how many fc.state_get requests one call may make, refused ones
	// included: each one not served from the call's own writes reads the database.
	MaxStateReads int
	// Fresh runs every call on a new instance, thrown away afterwards, instead of a
	// warm one from the pool: strict isolation at the cost of instantiating per call.
	// (An override cannot turn off Fresh set in Defaults.)
	Fresh bool
	// PoolSize is how many idle warm instances are kept.
	PoolSize int
	// RecycleAbove discards an instance after its call when its memory has grown
	// beyond this many bytes, so that the idle pool holds at most PoolSize ×
	// RecycleAbove of guest memory. Zero means twice the memory of a fresh instance
	// (measured at load, before fc_manifest): Go guests grow their memory by about a
	// third during ordinary calls, and keeping them at exactly their fresh size would
	// instantiate anew after most calls (BenchmarkRecycle).
	RecycleAbove int64
}

// DefaultLimits are the limits of abi/README.md: 64 MiB of memory, tables of 65536
// elements, a stack budget of 8 MiB, 30 s per call, 64 KiB of output, 1000 follow-ups
// and DefaultBufferLimit of them per call, 16 HTTP requests per call with bodies of
// 1 MiB each way, state values of 64 KiB, 1 MiB of state writes and 1000 state reads per
// call, 10,000 keys per plugin, warm instances (8 idle at most).
func DefaultLimits() Limits {
	return Limits{
		MemoryLimit:     64 << 20,
		TableLimit:      DefaultTableLimit,
		StackLimit:      DefaultStackLimit,
		Timeout:         30 * time.Second,
		OutputLimit:     64 << 10,
		MaxFollowUps:    1000,
		BufferLimit:     DefaultBufferLimit,
		StateValueLimit: 64 << 10,
		StateWriteLimit: 1 << 20,
		StateKeyLimit:   10000,
		MaxStateReads:   DefaultMaxStateReads,
		PoolSize:        8,

		HTTPMaxRequests:   16,
		HTTPRequestLimit:  1 << 20,
		HTTPResponseLimit: 1 << 20,
	}
}

// DefaultMaxStateReads is the default Limits.MaxStateReads: as many as follow-ups. A
// read is one primary-key lookup (a fraction of a millisecond), so a call that reads
// its whole budget costs the database well under a second, while a guest looping on
// fc.state_get is stopped long before its time limit.
const DefaultMaxStateReads = 1000

// DefaultTableLimit is the default Limits.TableLimit, 512 KiB of host memory per table:
// 9 times the largest table of the shipped plugins (the Go probe's, 7228 elements; the
// other languages' have fewer than 100).
const DefaultTableLimit = 1 << 16

// DefaultStackLimit is the default Limits.StackLimit: 8 times what the Go example
// plugins and probe need (between 512 KiB and 1 MiB of budget; Rust 256 KiB, C and
// AssemblyScript 128 KiB, WAT 64 KiB).
const DefaultStackLimit = 8 << 20

// maxTableLimit and maxStackLimit bound the limits so that the instrumentation's i32
// sums cannot overflow.
const (
	maxTableLimit = 1 << 28
	maxStackLimit = 1 << 30
)

// DefaultBufferLimit is the default Limits.BufferLimit, 4 MiB: room for a follow-up
// with the largest arguments a call may have (1 MiB) several times over, or for the
// 1000 follow-ups of the count limit at 4 KiB each, while one call holds at most 1/16
// of the default memory limit in buffered requests.
const DefaultBufferLimit = 4 << 20

// pageSize is the WebAssembly page size.
const pageSize = 64 << 10

// maxMemory is the most a 32-bit linear memory can hold.
const maxMemory = 1 << 32

// or fills l's zero fields from d.
func (l Limits) or(d Limits) Limits {
	if l.MemoryLimit == 0 {
		l.MemoryLimit = d.MemoryLimit
	}
	if l.TableLimit == 0 {
		l.TableLimit = d.TableLimit
	}
	if l.StackLimit == 0 {
		l.StackLimit = d.StackLimit
	}
	if l.Timeout == 0 {
		l.Timeout = d.Timeout
	}
	if l.OutputLimit == 0 {
		l.OutputLimit = d.OutputLimit
	}
	if l.MaxFollowUps == 0 {
		l.MaxFollowUps = d.MaxFollowUps
	}
	if l.BufferLimit == 0 {
		l.BufferLimit = d.BufferLimit
	}
	if l.HTTPMaxRequests == 0 {
		l.HTTPMaxRequests = d.HTTPMaxRequests
	}
	if l.HTTPRequestLimit == 0 {
		l.HTTPRequestLimit = d.HTTPRequestLimit
	}
	if l.HTTPResponseLimit == 0 {
		l.HTTPResponseLimit = d.HTTPResponseLimit
	}
	if l.StateValueLimit == 0 {
		l.StateValueLimit = d.StateValueLimit
	}
	if l.StateWriteLimit == 0 {
		l.StateWriteLimit = d.StateWriteLimit
	}
	if l.StateKeyLimit == 0 {
		l.StateKeyLimit = d.StateKeyLimit
	}
	if l.MaxStateReads == 0 {
		l.MaxStateReads = d.MaxStateReads
	}
	l.Fresh = l.Fresh || d.Fresh
	if l.PoolSize == 0 {
		l.PoolSize = d.PoolSize
	}
	if l.RecycleAbove == 0 {
		l.RecycleAbove = d.RecycleAbove
	}
	return l
}

// check validates complete limits (after or).
func (l Limits) check() (Limits, error) {
	var errs []error
	if l.MemoryLimit < pageSize || l.MemoryLimit > maxMemory {
		errs = append(errs, fmt.Errorf("memory limit %d bytes: want 64 KiB to 4 GiB", l.MemoryLimit))
	}
	if l.TableLimit < 1 || l.TableLimit > maxTableLimit {
		errs = append(errs, fmt.Errorf("table limit %d elements: want 1 to %d", l.TableLimit, maxTableLimit))
	}
	if l.StackLimit < 64<<10 || l.StackLimit > maxStackLimit {
		errs = append(errs, fmt.Errorf("stack limit %d bytes: want 64 KiB to 1 GiB", l.StackLimit))
	}
	if l.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("timeout %s: want a positive duration", l.Timeout))
	}
	if l.OutputLimit < 0 {
		errs = append(errs, fmt.Errorf("output limit %d: want a non-negative size", l.OutputLimit))
	}
	if l.MaxFollowUps < 0 {
		errs = append(errs, fmt.Errorf("max follow-ups %d: want a non-negative count", l.MaxFollowUps))
	}
	if l.BufferLimit < 0 {
		errs = append(errs, fmt.Errorf("buffer limit %d: want a non-negative size", l.BufferLimit))
	}
	if l.HTTPMaxRequests < 0 || l.HTTPRequestLimit < 0 || l.HTTPResponseLimit < 0 {
		errs = append(errs, fmt.Errorf("HTTP limits %d requests, %d and %d bytes: want non-negative numbers",
			l.HTTPMaxRequests, l.HTTPRequestLimit, l.HTTPResponseLimit))
	}
	if l.StateValueLimit < 0 || l.StateWriteLimit < 0 || l.StateKeyLimit < 0 || l.MaxStateReads < 0 {
		errs = append(errs, fmt.Errorf("state limits (value %d, write %d, keys %d, reads %d): want non-negative numbers",
			l.StateValueLimit, l.StateWriteLimit, l.StateKeyLimit, l.MaxStateReads))
	}
	if l.PoolSize < 0 {
		errs = append(errs, fmt.Errorf("pool size %d: want a non-negative count", l.PoolSize))
	}
	if l.RecycleAbove < 0 {
		errs = append(errs, fmt.Errorf("recycle threshold %d: want a non-negative size", l.RecycleAbove))
	}
	return l, errors.Join(errs...)
}

// memoryPages is MemoryLimit in pages.
func (l Limits) memoryPages() uint32 { return uint32(l.MemoryLimit / pageSize) }

// limitsFor returns the checked limits of the named plugin.
func (c Config) limitsFor(name string) (Limits, error) {
	l := c.Overrides[name].or(c.Defaults.or(DefaultLimits()))
	l, err := l.check()
	if err != nil {
		return l, fmt.Errorf("limits of plugin %s: %w", name, err)
	}
	return l, nil
}

// callOverhead is what one running call holds besides the terms of Limits: the envelope
// and the guest's error message read out of memory, unfinished output lines, the last
// document for fc.result, and
// wazero's own state of the instance (about 1.1 MiB of Go heap for a Go plugin).
const callOverhead = 3 << 20

// CallBudget is the most host memory one running call of a plugin with these limits
// and tables function tables can hold, whatever its guest does: the formula of the
// package documentation (# Memory budget), as code, so that the tests that measure a
// host under attack hold it to the documented figure. l must be complete (DefaultLimits
// or a plugin's effective Limits).
func (l Limits) CallBudget(tables int) int64 {
	return l.MemoryLimit + int64(tables)*l.TableLimit*8 + 2*l.StackLimit + l.BufferLimit + l.StateWriteLimit +
		2*l.HTTPRequestLimit + 14*l.HTTPResponseLimit + callOverhead
}
