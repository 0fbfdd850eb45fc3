package check

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/abi/signature"
	"github.com/futurecalls/futurecalls/host/request"
	"github.com/futurecalls/futurecalls/host/store"
)

// Signatures says which calls exist and what their arguments look like: the loaded
// plugins (a [request.Catalog] is one). Method returns an error wrapping
// [request.ErrUnknownPlugin] or [request.ErrUnknownMethod] for a call that does not exist;
// any other error stops the check.
type Signatures interface {
	Method(plugin, method string) (*signature.Method, abi.Retry, error)
}

// DefaultSampleIDs is how many sample ids a group keeps when Options.SampleIDs is 0.
const DefaultSampleIDs = 5

// Options configure Run.
type Options struct {
	// Store holds the calls to check.
	Store *store.Store
	// Signatures are the plugins to check them against.
	Signatures Signatures
	// Delete removes the broken calls, recording each in the history as
	// deleted_broken with its reason. It needs a Store with at least 2 connections.
	// It never removes a call that is only unavailable here (kind PluginMissing).
	Delete bool
	// DeleteUnavailable removes the calls whose plugin is not loaded here, the same
	// way. Only an operator who knows that no host will ever have the plugin again
	// should ask for it: during a rolling deploy, or when a plugin failed to load on
	// this host, those calls are waiting for another host.
	DeleteUnavailable bool
	// Host names this host in the history rows of deleted calls.
	Host string
	// SampleIDs bounds the sample ids of each group; 0 means DefaultSampleIDs.
	SampleIDs int
	// Workers validate arguments in parallel; 0 means one per CPU (GOMAXPROCS).
	Workers int
	// Plugin, when set, limits the check to the calls of that plugin: a new version of
	// it, about to be swapped in, is held against its stored calls.
	Plugin string
}

// Tuning of the pipeline: the reader hands calls to the workers in batches of at most
// batchCalls calls or batchBytes bytes of arguments, and at most batchesPerWorker
// batches per worker are in flight, which bounds the memory of a check however many
// calls are stored.
const (
	batchCalls       = 512
	batchBytes       = 256 << 10
	batchesPerWorker = 4
	// deleteBatch is how many broken calls are removed at a time.
	deleteBatch = 1000
)

// Run checks every stored call against opts.Signatures and returns the report. It never
// runs plugin code. Memory stays constant however many calls are stored; the report
// keeps counts and a few samples per group, not the broken calls themselves.
func Run(ctx context.Context, opts Options) (Report, error) {
	if opts.Store == nil || opts.Signatures == nil {
		return Report{}, errors.New("check calls: Store and Signatures are required")
	}
	if (opts.Delete || opts.DeleteUnavailable) && opts.Store.Pool().Config().MaxConns < 2 {
		// The walk holds one connection while deletes need another.
		return Report{}, errors.New("check calls: deleting broken calls needs a database pool of at least 2 connections")
	}
	if opts.SampleIDs <= 0 {
		opts.SampleIDs = DefaultSampleIDs
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	start := time.Now()
	nBatches := opts.Workers * batchesPerWorker
	free := make(chan *batch, nBatches)
	for range nBatches {
		free <- &batch{}
	}
	work := make(chan *batch, nBatches)
	found := make(chan []finding, nBatches)

	g, ctx := errgroup.WithContext(ctx)
	var checked int64
	g.Go(func() error {
		defer close(work)
		n, err := read(ctx, opts, free, work)
		checked = n
		return err
	})
	workers, wctx := errgroup.WithContext(ctx)
	for range opts.Workers {
		workers.Go(func() error { return validate(wctx, work, free, found) })
	}
	g.Go(func() error {
		defer close(found)
		return workers.Wait()
	})
	c := collector{opts: opts, groups: map[*target]*Group{}}
	g.Go(func() error { return c.collect(ctx, found) })
	if err := g.Wait(); err != nil {
		return Report{}, fmt.Errorf("check calls: %w", err)
	}
	r := c.report()
	r.Checked = checked
	r.Duration = Duration(time.Since(start))
	return r, nil
}

// target is one plugin and method as stored calls name it, resolved once per check.
type target struct {
	plugin, method string
	// sig is the method's signature; nil when the call cannot exist (kind and reason
	// then say why).
	sig    *signature.Method
	kind   Kind
	reason string
}

// resolve finds the target of plugin and method, once per pair.
func resolve(sigs Signatures, plugin, method string) (*target, error) {
	t := &target{plugin: plugin, method: method}
	sig, _, err := sigs.Method(plugin, method)
	switch {
	case errors.Is(err, request.ErrUnknownPlugin):
		t.kind, t.reason = PluginMissing, fmt.Sprintf("plugin %q is not loaded on this host", plugin)
	case errors.Is(err, request.ErrUnknownMethod):
		t.kind, t.reason = MethodMissing, fmt.Sprintf("plugin %q has no method %q", plugin, method)
	case err != nil:
		return nil, fmt.Errorf("signature of %s.%s: %w", plugin, method, err)
	case sig == nil:
		return nil, fmt.Errorf("signature of %s.%s: none given", plugin, method)
	default:
		t.sig, t.kind = sig, ArgsMismatch
	}
	return t, nil
}

// batch is a run of calls handed from the reader to a worker. The arguments of call i
// are buf[ends[i-1]:ends[i]], copied out of the database's row buffer.
type batch struct {
	ids     []int64
	targets []*target
	ends    []int
	buf     []byte
}

func (b *batch) reset() {
	b.ids, b.targets, b.ends, b.buf = b.ids[:0], b.targets[:0], b.ends[:0], b.buf[:0]
}

func (b *batch) full() bool { return len(b.ids) >= batchCalls || len(b.buf) >= batchBytes }

// read streams the stored calls into batches, resolving each call's target, and returns
// how many calls it read.
func read(ctx context.Context, opts Options, free <-chan *batch, work chan<- *batch) (int64, error) {
	targets := map[string]map[string]*target{}
	var n int64
	var b *batch
	send := func() error {
		select {
		case work <- b:
			b = nil
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	err := opts.Store.EachArgsOf(ctx, opts.Plugin, func(c store.CallArgs) error {
		if b == nil {
			select {
			case b = <-free:
				b.reset()
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		// Indexing a map with string(bytes) does not allocate: only a new pair does.
		methods, ok := targets[string(c.Plugin)]
		if !ok {
			methods = map[string]*target{}
			targets[string(c.Plugin)] = methods
		}
		t, ok := methods[string(c.Method)]
		if !ok {
			var err error
			if t, err = resolve(opts.Signatures, string(c.Plugin), string(c.Method)); err != nil {
				return err
			}
			methods[string(c.Method)] = t
		}
		if t.sig != nil {
			b.buf = append(b.buf, c.Args...)
		}
		b.ids, b.targets, b.ends = append(b.ids, c.ID), append(b.targets, t), append(b.ends, len(b.buf))
		n++
		if b.full() {
			return send()
		}
		return nil
	})
	if err != nil {
		return n, err
	}
	if b != nil && len(b.ids) > 0 {
		return n, send()
	}
	return n, nil
}

// finding is one call this host cannot run: broken, or unavailable here.
type finding struct {
	id     int64
	target *target
	// err is the *signature.Error of an ArgsMismatch; nil for the other kinds.
	err *signature.Error
}

// validate checks the calls of each batch from work against their signatures, sends
// the broken ones to found and gives the batch back to free.
func validate(ctx context.Context, work <-chan *batch, free chan<- *batch, found chan<- []finding) error {
	for b := range work {
		var broken []finding
		start := 0
		for i, t := range b.targets {
			end := b.ends[i]
			if t.sig == nil {
				broken = append(broken, finding{id: b.ids[i], target: t})
			} else if err := t.sig.Validate(b.buf[start:end]); err != nil {
				var serr *signature.Error
				if !errors.As(err, &serr) {
					return fmt.Errorf("call %d: %w", b.ids[i], err)
				}
				broken = append(broken, finding{id: b.ids[i], target: t, err: serr})
			}
			start = end
		}
		free <- b // never blocks: free holds every batch there is
		if len(broken) == 0 {
			continue
		}
		select {
		case found <- broken:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// collector gathers the findings into groups and deletes the calls it was asked to in
// batches.
type collector struct {
	opts        Options
	groups      map[*target]*Group
	broken      int64
	unavailable int64
	deleted     int64
	pending     []store.BrokenCall
}

func (c *collector) collect(ctx context.Context, found <-chan []finding) error {
	for fs := range found {
		for _, f := range fs {
			c.add(f)
		}
		if len(c.pending) >= deleteBatch {
			if err := c.flush(ctx); err != nil {
				return err
			}
		}
	}
	return c.flush(ctx)
}

func (c *collector) add(f finding) {
	unavailable := f.target.kind == PluginMissing
	if unavailable {
		c.unavailable++
	} else {
		c.broken++
	}
	g, ok := c.groups[f.target]
	if !ok {
		g = &Group{Plugin: f.target.plugin, Method: f.target.method, Kind: f.target.kind}
		c.groups[f.target] = g
	}
	g.Count++
	// Keep the lowest ids, and the reason of the lowest: the same report whatever the
	// order in which the workers finished.
	i, _ := slices.BinarySearch(g.SampleIDs, f.id)
	if i < c.opts.SampleIDs {
		if len(g.SampleIDs) == c.opts.SampleIDs {
			g.SampleIDs = g.SampleIDs[:len(g.SampleIDs)-1]
		}
		g.SampleIDs = slices.Insert(g.SampleIDs, i, f.id)
		if i == 0 {
			g.Reason, g.Violations = f.reason(), nil
			if f.err != nil {
				g.Violations = f.err.Violations
			}
		}
	}
	if (c.opts.Delete && !unavailable) || (c.opts.DeleteUnavailable && unavailable) {
		c.pending = append(c.pending, store.BrokenCall{ID: f.id, Reason: f.reason()})
	}
}

func (f finding) reason() string {
	if f.err != nil {
		return f.err.Error()
	}
	return f.target.reason
}

func (c *collector) flush(ctx context.Context) error {
	if len(c.pending) == 0 {
		return nil
	}
	n, err := c.opts.Store.DeleteBroken(ctx, c.pending, c.opts.Host)
	c.deleted += n
	c.pending = c.pending[:0]
	return err
}

func (c *collector) report() Report {
	r := Report{Broken: c.broken, Unavailable: c.unavailable, Deleted: c.deleted, Groups: make([]Group, 0, len(c.groups))}
	for _, g := range c.groups {
		r.Groups = append(r.Groups, *g)
	}
	slices.SortFunc(r.Groups, func(a, b Group) int {
		return cmp.Or(cmp.Compare(a.Plugin, b.Plugin), cmp.Compare(a.Method, b.Method), cmp.Compare(a.Kind, b.Kind))
	})
	return r
}
