package plugin

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/abi/signature"
)

// Registry holds the loaded plugins. It is safe for concurrent use. Its set of plugins
// can change while it runs (swap.go): each lookup sees one version of a plugin.
type Registry struct {
	log      *slog.Logger
	cache    wazero.CompilationCache
	cfg      Config
	defaults Limits
	opts     options
	current  atomic.Pointer[set]
	problems []Problem
	// swap serialises the changes to current; retiring counts the replaced versions
	// still draining, leaving holds removed plugins by name while they may still run
	// calls claimed before they left (swap.go), and closing ends when Close starts.
	swap     sync.Mutex
	retiring sync.WaitGroup
	leaving  sync.Map
	closing  chan struct{}
}

// set is one version of the registry's plugins, never modified once published.
type set struct {
	plugins map[string]*Plugin
	sorted  []*Plugin
}

// Problem is a module that was not loaded, and why.
type Problem struct {
	// File is the module's path.
	File string
	// Err is the reason.
	Err error
}

// Error is "<file>: <reason>".
func (p Problem) Error() string { return p.File + ": " + p.Err.Error() }

// Unwrap returns Err.
func (p Problem) Unwrap() error { return p.Err }

// Plugin returns the named plugin.
func (r *Registry) Plugin(name string) (*Plugin, bool) {
	p, ok := r.current.Load().plugins[name]
	return p, ok
}

// Plugins returns the loaded plugins, sorted by name.
func (r *Registry) Plugins() []*Plugin { return slices.Clone(r.current.Load().sorted) }

// Problems returns the modules that were not loaded, sorted by file.
func (r *Registry) Problems() []Problem { return slices.Clone(r.problems) }

// options are Load's knobs for tests and benchmarks.
type options struct {
	closeOnDone    bool // WithCloseOnContextDone as well as the loop checks: only to measure what it costs
	uninstrumented bool // skip instrument: only to measure what it costs
	goHeap         bool // linear memories in the Go heap (wazero's default), only to measure linearMemory
}

// Load loads every *.wasm file in cfg.Dir. Each module is compiled once (through the
// compilation cache), its imports and exports are checked, and one instance reads its
// manifest, which is checked and whose signatures are compiled. A module that fails is
// logged and kept in Problems with its reason; the others load. Two modules claiming one
// plugin name: the second, by file name, is refused, naming both files.
//
// Load fails only when the directory cannot be read, the cache cannot be opened or the
// configured limits are invalid.
func Load(ctx context.Context, cfg Config, log *slog.Logger) (*Registry, error) {
	return load(ctx, cfg, log, options{})
}

func load(ctx context.Context, cfg Config, log *slog.Logger, opts options) (*Registry, error) {
	defaults, err := cfg.limitsFor("")
	if err != nil {
		return nil, err
	}
	for name := range cfg.Overrides {
		if _, err := cfg.limitsFor(name); err != nil {
			return nil, err
		}
	}
	files, err := wasmFiles(cfg.Dir)
	if err != nil {
		return nil, err
	}
	r := &Registry{log: log, cfg: cfg, defaults: defaults, opts: opts, closing: make(chan struct{})}
	if cfg.CacheDir == "" {
		r.cache = wazero.NewCompilationCache()
	} else if r.cache, err = wazero.NewCompilationCacheWithDir(cfg.CacheDir); err != nil {
		return nil, fmt.Errorf("open the compilation cache %s: %w", cfg.CacheDir, err)
	}

	// Compiling is the slow part (about a second for a Go plugin without the cache):
	// load the modules in parallel.
	loaded := make([]*Plugin, len(files))
	errs := make([]error, len(files))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, file := range files {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			loaded[i], errs[i] = r.loadFile(ctx, cfg, defaults, file, opts)
		})
	}
	wg.Wait()

	all := &set{plugins: map[string]*Plugin{}}
	owner := map[string]string{} // plugin name → file
	for i, file := range files {
		p, err := loaded[i], errs[i]
		if err == nil {
			if first, dup := owner[p.Name]; dup {
				err = fmt.Errorf("plugin name %q is claimed by both %s and %s: %s refused",
					p.Name, filepath.Base(first), filepath.Base(file), filepath.Base(file))
				p.close(ctx)
			}
		}
		if err != nil {
			r.problems = append(r.problems, Problem{File: file, Err: err})
			log.Error("plugin not loaded", slog.String("file", file), slog.Any("error", err))
			continue
		}
		owner[p.Name] = file
		all.plugins[p.Name] = p
		all.sorted = append(all.sorted, p)
		log.Info("plugin loaded", slog.String("plugin", p.Name), slog.String("version", p.Manifest.Version),
			slog.String("file", file), slog.Int("calls", len(p.Manifest.Calls)), slog.String("sha256", p.SHA256))
	}
	slices.SortFunc(all.sorted, func(a, b *Plugin) int { return cmp.Compare(a.Name, b.Name) })
	r.current.Store(all)
	return r, nil
}

// wasmFiles lists the *.wasm files (or links to files) in dir, sorted; hidden ones
// (".name.wasm", as tools name files they are still writing) are left out.
func wasmFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read the plugins directory: %w", err)
	}
	var files []string
	for _, e := range entries {
		if !IsModuleFile(e.Name()) {
			continue
		}
		file := filepath.Join(dir, e.Name())
		if info, err := os.Stat(file); err == nil && info.Mode().IsRegular() {
			files = append(files, file)
		}
	}
	return files, nil // ReadDir sorts by name
}

// newRuntime makes a runtime for a plugin: its memory cap, the shared compilation cache,
// WASI and the fc host module.
func (r *Registry) newRuntime(ctx context.Context, memoryPages uint32, opts options) (wazero.Runtime, error) {
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().
		WithCompilationCache(r.cache).
		WithMemoryLimitPages(memoryPages).
		WithCloseOnContextDone(opts.closeOnDone))
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		_ = rt.Close(ctx)
		return nil, fmt.Errorf("instantiate WASI: %w", err)
	}
	if err := instantiateHost(ctx, rt); err != nil {
		_ = rt.Close(ctx)
		return nil, err
	}
	return rt, nil
}

// loadFile loads one module.
func (r *Registry) loadFile(ctx context.Context, cfg Config, defaults Limits, file string, opts options) (*Plugin, error) {
	bin, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return r.loadModule(ctx, cfg, defaults, file, bin, opts)
}

// loadModule loads one module read from file.
func (r *Registry) loadModule(ctx context.Context, cfg Config, defaults Limits, file string, bin []byte, opts options) (*Plugin, error) {
	sum := sha256.Sum256(bin)
	// The plugin's name, hence its limits, is known only once its manifest is read: read
	// it under the largest limits configured, then instrument and compile again (from
	// the cache) under the plugin's own when they differ.
	loadLimits := defaults
	for name := range cfg.Overrides {
		l, _ := cfg.limitsFor(name)
		loadLimits.MemoryLimit = max(loadLimits.MemoryLimit, l.MemoryLimit)
		loadLimits.TableLimit = max(loadLimits.TableLimit, l.TableLimit)
		loadLimits.StackLimit = max(loadLimits.StackLimit, l.StackLimit)
		loadLimits.Timeout = max(loadLimits.Timeout, l.Timeout)
	}
	rt, err := r.newRuntime(ctx, loadLimits.memoryPages(), opts)
	if err != nil {
		return nil, err
	}
	p := &Plugin{File: file, SHA256: hex.EncodeToString(sum[:]), rt: rt, argv0: strings.TrimSuffix(filepath.Base(file), ".wasm"),
		Limits: loadLimits, goHeap: opts.goHeap}
	p.stopping, p.stopRunning = context.WithCancel(context.Background())
	if err := p.compile(ctx, bin, opts); err != nil {
		p.close(ctx)
		return nil, err
	}
	first, fresh, err := p.readManifest(ctx, r.log.With(slog.String("file", file)))
	if err != nil {
		p.close(ctx)
		return nil, err
	}
	p.Limits, _ = cfg.limitsFor(p.Name)
	p.grant = cfg.Grants[p.Name]
	if p.Limits.RecycleAbove == 0 {
		p.Limits.RecycleAbove = 2 * fresh
	}
	p.pool.max = p.Limits.PoolSize
	p.log = r.log
	if p.Limits.memoryPages() != loadLimits.memoryPages() || p.Limits.TableLimit != loadLimits.TableLimit ||
		p.Limits.StackLimit != loadLimits.StackLimit {
		first.close()
		first = nil
		_ = p.rt.Close(ctx)
		if p.rt, err = r.newRuntime(ctx, p.Limits.memoryPages(), opts); err != nil {
			return nil, err
		}
		if err := p.compile(ctx, bin, opts); err != nil {
			p.close(ctx)
			return nil, err
		}
	}
	if first != nil {
		p.release(first) // the first instance is as warm as any
	}
	p.LoadedAt = time.Now()
	return p, nil
}

// compile instruments the module under the plugin's limits (instrument.go), compiles it
// and checks its imports and exports.
func (p *Plugin) compile(ctx context.Context, bin []byte, opts options) error {
	ins, err := instrument(bin, uint32(p.Limits.TableLimit), uint32(p.Limits.StackLimit))
	if err != nil {
		return fmt.Errorf("compile: %w", err)
	}
	if opts.uninstrumented {
		ins = &instrumented{bin: bin}
	}
	cm, err := p.rt.CompileModule(ctx, ins.bin)
	if err != nil {
		return fmt.Errorf("compile: %w", err)
	}
	p.compiled, p.tables = cm, ins
	if p.image != nil { // compiled again, under the plugin's own limits
		p.image.close()
		p.image = nil
	}
	if ins.image != nil {
		p.image = newMemoryImage(ins.image)
	}
	wasi := p.rt.Module(abi.WASIModule)
	return errors.Join(checkImports(cm, wasi.ExportedFunctionDefinitions()), checkExports(cm))
}

// readManifest instantiates the module once and reads its manifest. It returns the
// instance and the size of its memory before fc_manifest ran: a fresh instance's.
func (p *Plugin) readManifest(ctx context.Context, log *slog.Logger) (*instance, int64, error) {
	ctx, cancel := context.WithTimeout(ctx, p.Limits.Timeout)
	defer cancel()
	c := &call{base: log, limits: &p.Limits}
	c.ctx = context.WithValue(ctx, callKey{}, c)
	in, err := p.newInstance(c.ctx, c)
	if err != nil {
		c.flush()
		return nil, 0, p.failure(ctx, c.ctx, c, nil, "instantiate: ", err)
	}
	fresh := int64(in.mem.Size())
	in.current = c
	defer func() { in.current = nil }()
	stopped := in.watch(c.ctx)
	err = in.manifest.CallWithStack(c.ctx, in.stack[:])
	if stopped() && err == nil { // the flag stays set: this instance cannot be pooled
		err = context.Cause(c.ctx)
	}
	if err != nil {
		c.flush()
		in.discard()
		return nil, 0, p.failure(ctx, c.ctx, c, in, "fc_manifest: ", err)
	}
	c.flush()
	ptr, n := abi.Unpack(in.stack[0])
	data, ok := in.mem.Read(ptr, n)
	if !ok {
		in.discard()
		return nil, 0, fmt.Errorf("fc_manifest returned a manifest outside memory (%d bytes at %#x)", n, ptr)
	}
	// A copy: the manifest outlives the instance, whose memory is unmapped when it closes.
	m, err := signature.ParseManifest(bytes.Clone(data))
	if err != nil {
		in.discard()
		return nil, 0, err
	}
	p.Name, p.Manifest, p.sig = m.Name, m.Manifest, m
	in.memory.done()
	return in, fresh, nil
}

// checkImports refuses imports other than the fc functions of the ABI and WASI preview
// 1, and those with another core type.
func checkImports(cm wazero.CompiledModule, wasi map[string]api.FunctionDefinition) error {
	var errs []error
	for _, def := range cm.ImportedFunctions() {
		module, name, _ := def.Import()
		var want api.FunctionDefinition
		var params, results []api.ValueType
		switch module {
		case abi.HostModule:
			f, ok := hostFuncs[name]
			if !ok {
				errs = append(errs, fmt.Errorf("imports %s.%s, which the host does not offer", module, name))
				continue
			}
			params, results = f.params, f.results
		case abi.WASIModule:
			if want = wasi[name]; want == nil {
				errs = append(errs, fmt.Errorf("imports %s.%s, which is not a WASI preview 1 function", module, name))
				continue
			}
			params, results = want.ParamTypes(), want.ResultTypes()
		default:
			errs = append(errs, fmt.Errorf("imports %s.%s: only %s and %s may be imported", module, name, abi.HostModule, abi.WASIModule))
			continue
		}
		if got := coreType(def.ParamTypes(), def.ResultTypes()); got != coreType(params, results) {
			errs = append(errs, fmt.Errorf("imports %s.%s as %s, want %s", module, name, got, coreType(params, results)))
		}
	}
	for _, def := range cm.ImportedMemories() {
		module, name, _ := def.Import()
		errs = append(errs, fmt.Errorf("imports memory %s.%s: a plugin must export its own memory", module, name))
	}
	return errors.Join(errs...)
}

// guestFuncs are the function exports of the ABI, by name.
var guestFuncs = []struct {
	name            string
	params, results []api.ValueType
	optional        bool
}{
	{abi.ExportAlloc, []api.ValueType{i32}, []api.ValueType{i32}, false},
	{abi.ExportManifest, nil, []api.ValueType{i64}, false},
	{abi.ExportInvoke, []api.ValueType{i32, i32}, []api.ValueType{i64}, false},
	{abi.ExportInitialize, nil, nil, true},
}

// checkExports requires memory and the ABI's functions with their core types, and
// refuses commands (modules exporting _start).
func checkExports(cm wazero.CompiledModule) error {
	var errs []error
	if _, ok := cm.ExportedMemories()[abi.ExportMemory]; !ok {
		errs = append(errs, fmt.Errorf("does not export its memory as %q", abi.ExportMemory))
	}
	exported := cm.ExportedFunctions()
	if _, ok := exported["_start"]; ok {
		errs = append(errs, errors.New("exports _start: it was built as a command, and a plugin must be a reactor "+
			"(Go: -buildmode=c-shared; C: -mexec-model=reactor; Rust: --crate-type cdylib)"))
	}
	for _, f := range guestFuncs {
		def, ok := exported[f.name]
		switch {
		case !ok && !f.optional:
			errs = append(errs, fmt.Errorf("does not export %s %s", f.name, coreType(f.params, f.results)))
		case ok:
			if got, want := coreType(def.ParamTypes(), def.ResultTypes()), coreType(f.params, f.results); got != want {
				errs = append(errs, fmt.Errorf("exports %s as %s, want %s", f.name, got, want))
			}
		}
	}
	return errors.Join(errs...)
}

// coreType writes a function type as "(i32, i32) -> i64".
func coreType(params, results []api.ValueType) string {
	names := func(types []api.ValueType) string {
		var b bytes.Buffer
		b.WriteByte('(')
		for i, t := range types {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(api.ValueTypeName(t))
		}
		b.WriteByte(')')
		return b.String()
	}
	return names(params) + " -> " + names(results)
}

// close releases what a plugin holds: its instances and runtime.
func (p *Plugin) close(ctx context.Context) {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.stopRunning()
	p.pool.close()
	if p.rt != nil {
		_ = p.rt.Close(ctx)
	}
	if p.image != nil {
		p.image.close()
	}
	if p.grant.HTTP != nil {
		p.grant.HTTP.CloseIdle()
	}
}

// Close stops the registry: new calls are refused at once, calls in flight may finish
// until ctx ends, then every instance and runtime is closed (a call still running then
// fails as cancelled) and the compilation cache released.
func (r *Registry) Close(ctx context.Context) error {
	r.swap.Lock()
	defer r.swap.Unlock()
	close(r.closing)
	sorted := r.current.Load().sorted
	for _, p := range sorted {
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
	}
	done := make(chan struct{})
	go func() {
		for _, p := range sorted {
			p.running.Wait()
		}
		r.retiring.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("close plugins: calls still running: %w", context.Cause(ctx))
	}
	for _, p := range sorted {
		p.close(context.Background())
	}
	if cerr := r.cache.Close(context.Background()); cerr != nil {
		err = errors.Join(err, fmt.Errorf("close the compilation cache: %w", cerr))
	}
	return err
}
