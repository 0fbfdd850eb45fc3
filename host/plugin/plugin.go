package plugin

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/abi/signature"
)

// Plugin is one loaded plugin: its manifest, its compiled signatures and its instances.
// It is safe for concurrent use.
type Plugin struct {
	// Name is the plugin's name, from its manifest.
	Name string
	// File is the module's path.
	File string
	// Manifest is what the plugin declared.
	Manifest abi.Manifest
	// Limits are the plugin's effective limits.
	Limits Limits
	// SHA256 is the hex SHA-256 of the module file as it was loaded.
	SHA256 string
	// LoadedAt is when the module was loaded.
	LoadedAt time.Time
	// grant is what the operator lets the plugin reach.
	grant Grant

	sig      *signature.Manifest
	rt       wazero.Runtime
	compiled wazero.CompiledModule
	tables   *instrumented // what the instrumentation says of the module's tables
	image    *memoryImage  // the initial memory instances map; nil when the module keeps its data segments
	argv0    string
	goHeap   bool // see options
	log      *slog.Logger
	pool     pool
	mu       sync.Mutex // guards closed and the WaitGroup's Add against Close
	closed   bool
	running  sync.WaitGroup
	// stopping ends when the plugin closes: it ends the calls still running then.
	stopping    context.Context
	stopRunning context.CancelFunc
}

// Method returns the compiled signature of the named call.
func (p *Plugin) Method(name string) (*signature.Method, bool) { return p.sig.Method(name) }
