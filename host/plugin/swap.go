package plugin

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/futurecalls/futurecalls/abi"
)

// IsModuleFile reports whether a file of the plugins directory named name is a module
// the registry loads: "*.wasm", not hidden. Tools write hidden or differently named
// files (".name.wasm.tmp", "name.wasm.part") and rename them when complete.
func IsModuleFile(name string) bool {
	return strings.HasSuffix(name, ".wasm") && !strings.HasPrefix(name, ".")
}

// LeaveAfter is how long a removed plugin still runs the calls that were claimed before
// it was removed and had not yet started; new calls of it are no longer claimed.
const LeaveAfter = 10 * time.Second

// Candidate loads the module bin, read from file, as Load would, without adding it to
// the registry: the caller checks it, then installs it with Install or drops it with
// Discard.
func (r *Registry) Candidate(ctx context.Context, file string, bin []byte) (*Plugin, error) {
	return r.loadModule(ctx, r.cfg, r.defaults, file, bin, r.opts)
}

// Discard closes a candidate that was not installed.
func (r *Registry) Discard(p *Plugin) { p.close(context.Background()) }

// Install makes p the registry's plugin of its name, in place of the version loaded, if
// any, which it returns. The old version is retired: calls running on it finish on it,
// Invoke runs later calls on p, and once its last call ends its instances and runtime
// are closed, giving its memory back.
func (r *Registry) Install(p *Plugin) (old *Plugin) {
	r.swap.Lock()
	defer r.swap.Unlock()
	cur := r.current.Load()
	next := &set{plugins: maps.Clone(cur.plugins)}
	old = cur.plugins[p.Name]
	next.plugins[p.Name] = p
	next.sorted = slices.SortedFunc(maps.Values(next.plugins), func(a, b *Plugin) int { return cmp.Compare(a.Name, b.Name) })
	r.current.Store(next)
	if old != nil {
		r.retire(old, 0)
	}
	return old
}

// Remove takes the named plugin out of the registry and returns it. Invoke still runs
// calls of it for LeaveAfter (calls claimed before it left), then it is retired.
func (r *Registry) Remove(name string) (*Plugin, bool) {
	r.swap.Lock()
	defer r.swap.Unlock()
	cur := r.current.Load()
	old, ok := cur.plugins[name]
	if !ok {
		return nil, false
	}
	next := &set{plugins: maps.Clone(cur.plugins)}
	delete(next.plugins, name)
	next.sorted = slices.DeleteFunc(slices.Clone(cur.sorted), func(p *Plugin) bool { return p == old })
	r.leaving.Store(name, old)
	r.current.Store(next)
	r.retire(old, LeaveAfter)
	return old, true
}

// retire closes p after wait, once its running calls end. The caller holds r.swap.
func (r *Registry) retire(p *Plugin, wait time.Duration) {
	r.retiring.Add(1)
	go func() {
		defer r.retiring.Done()
		if wait > 0 {
			select {
			case <-time.After(wait):
			case <-r.closing:
			}
			r.leaving.CompareAndDelete(p.Name, p)
		}
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		p.running.Wait()
		p.close(context.Background())
		r.log.Info("plugin version retired", slog.String("plugin", p.Name), slog.String("version", p.Manifest.Version),
			slog.String("sha256", p.SHA256))
	}()
}

// Limits returns the limits of the named plugin: the loaded version's, else those of a
// plugin that is leaving (Remove), else the zero Limits.
func (r *Registry) Limits(name string) Limits {
	if p, ok := r.Plugin(name); ok {
		return p.Limits
	}
	if v, ok := r.leaving.Load(name); ok {
		return v.(*Plugin).Limits
	}
	return Limits{}
}

// Invoke runs a call of the named plugin (Plugin.Invoke) on the version loaded when it
// starts, and returns that version (the manifest's) with the call's error. A call that
// looked up a version just replaced runs on its successor. A plugin not loaded fails
// the call as broken.
func (r *Registry) Invoke(ctx context.Context, name string, env abi.Envelope, host HostCalls, log *slog.Logger) (string, error) {
	for {
		p, ok := r.Plugin(name)
		if !ok {
			v, leaving := r.leaving.Load(name)
			if !leaving {
				return "", &CallError{Kind: KindBroken, Message: fmt.Sprintf("plugin %s is not loaded", name)}
			}
			p = v.(*Plugin)
		}
		err := p.Invoke(ctx, env, host, log)
		if errors.Is(err, ErrClosed) {
			if now, ok := r.Plugin(name); ok && now != p {
				continue // replaced between the lookup and the start: run on the new version
			}
		}
		return p.Manifest.Version, err
	}
}
