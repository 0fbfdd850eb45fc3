package plugin

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"

	"github.com/futurecalls/futurecalls/abi"
)

// instance is one instantiated module. It runs one call at a time: api.Function is not
// safe for concurrent calls.
type instance struct {
	mod          api.Module
	mem          api.Memory
	memory       *linearMemory // mem's bytes (nil with options.goHeap): in use from creation until the creator's done
	alloc        api.Function
	invoke       api.Function
	manifest     api.Function
	tableSize    api.Function      // the instrumentation's table-size export; nil without tables
	stop         api.MutableGlobal // the instrumentation's stop flag (loopcheck.go); nil uninstrumented
	stack        [2]uint64         // parameters and results of CallWithStack
	current      *call             // the call running now, for the output streams and sleep
	instantiated time.Time
}

// stream is a guest's stdout or stderr: it writes to whichever call the instance runs.
type stream struct {
	in *instance
	fd int
}

func (s stream) Write(p []byte) (int, error) {
	if c := s.in.current; c != nil {
		c.write(s.fd, p)
	}
	return len(p), nil
}

// sleep is the instance's WASI nanosleep (poll_oneoff with a clock): a real sleep, cut
// short when the call's context ends so that the time limit holds during sleeps too.
func (in *instance) sleep(ns int64) {
	var done <-chan struct{}
	if c := in.current; c != nil {
		done = c.ctx.Done()
	}
	t := time.NewTimer(time.Duration(ns))
	defer t.Stop()
	select {
	case <-t.C:
	case <-done:
	}
}

// newInstance instantiates the plugin's module for c, running _initialize when exported.
// The module's name stays empty, so a runtime may hold any number of instances. Its
// memory is in use (see linearMemory) until the caller calls in.memory.done.
func (p *Plugin) newInstance(ctx context.Context, c *call) (*instance, error) {
	in := &instance{current: c}
	cfg := wazero.NewModuleConfig().
		WithName("").
		WithArgs(p.argv0).
		WithStartFunctions(). // _initialize runs below, under the time limit
		WithStdout(stream{in, 1}).
		WithStderr(stream{in, 2}).
		WithSysWalltime().
		WithSysNanotime().
		WithNanosleep(in.sleep).
		WithRandSource(rand.Reader)
	allocate := experimental.MemoryAllocatorFunc(func(_, max uint64) experimental.LinearMemory {
		in.memory = reserveMemory(max, p.image)
		return in.memory
	})
	ctx = context.WithValue(ctx, callKey{}, c)
	if !p.goHeap {
		ctx = experimental.WithMemoryAllocator(ctx, allocate)
	}
	mod, err := p.rt.InstantiateModule(ctx, p.compiled, cfg)
	if err != nil {
		in.memory.done() // wazero freed it, if it was allocated
		return nil, err
	}
	in.mod = mod
	in.mem = mod.Memory()
	in.alloc = mod.ExportedFunction(abi.ExportAlloc)
	in.invoke = mod.ExportedFunction(abi.ExportInvoke)
	in.manifest = mod.ExportedFunction(abi.ExportManifest)
	in.tableSize = mod.ExportedFunction(tableSizeExport)
	in.stop, _ = mod.ExportedGlobal(stopExport).(api.MutableGlobal)
	in.instantiated = time.Now()
	if in.mem == nil || in.alloc == nil || in.invoke == nil || in.manifest == nil {
		in.discard()
		return nil, fmt.Errorf("an export is missing after instantiation")
	}
	if in.memory != nil && in.memory.err != nil {
		err := in.memory.err
		in.discard()
		return nil, err
	}
	if in.memory == nil && p.image != nil { // in the Go heap (options.goHeap)
		in.mem.Write(0, p.image.bytes)
	}
	if initialize := mod.ExportedFunction(abi.ExportInitialize); initialize != nil {
		stopped := in.watch(ctx)
		_, err := initialize.Call(ctx)
		if stopped() && err == nil {
			err = context.Cause(ctx)
		}
		if err != nil {
			in.discard()
			return nil, err
		}
	}
	in.current = nil
	return in, nil
}

// watch arms the instance's stop flag for ctx: when ctx ends, the guest traps at its
// next loop iteration. The returned function disarms it and reports whether it fired:
// the instance must then be discarded, since the flag stays set.
func (in *instance) watch(ctx context.Context) (stopped func() bool) {
	if in.stop == nil {
		return func() bool { return false }
	}
	disarm := context.AfterFunc(ctx, func() { in.stop.Set(1) })
	return func() bool { return !disarm() }
}

// close discards the instance. Its memory goes back to the operating system now, or
// when its use ends.
func (in *instance) close() {
	_ = in.mod.Close(context.Background())
}

// discard closes an instance whose memory is in use, and ends that use.
func (in *instance) discard() {
	in.close()
	in.memory.done()
}

// pool keeps a plugin's idle warm instances.
type pool struct {
	mu     sync.Mutex
	idle   []*instance
	max    int
	closed bool
}

// get takes an idle instance, or returns nil when there is none.
func (p *pool) get() *instance {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.idle)
	if n == 0 {
		return nil
	}
	in := p.idle[n-1] // the most recently used: its memory is warm
	p.idle[n-1] = nil
	p.idle = p.idle[:n-1]
	return in
}

// put returns an instance after its call, or discards it when the pool is full or
// closed.
func (p *pool) put(in *instance) {
	p.mu.Lock()
	if !p.closed && len(p.idle) < p.max {
		p.idle = append(p.idle, in)
		in = nil
	}
	p.mu.Unlock()
	if in != nil {
		in.close()
	}
}

// close discards the idle instances and every instance put back later.
func (p *pool) close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, in := range idle {
		in.close()
	}
}

// size is the number of idle instances.
func (p *pool) size() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle)
}
