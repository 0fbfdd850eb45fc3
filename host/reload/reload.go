// Package reload swaps plugins while the host runs. When the plugins directory changes
// (watch.go), on SIGHUP or on POST /v1/plugins/reload, [Reloader.Reload] compares the
// directory with the plugins loaded and:
//
//   - loads a new file as a new plugin;
//   - loads a changed file as a candidate next version of its plugin, reads and checks
//     its manifest, and holds it against every stored call of that plugin (the
//     broken-call check of host/check, limited to that plugin). When none would break it
//     is swapped in; when some would, [Policy] decides;
//   - takes out a plugin whose file is gone: its calls stay stored and wait, as calls of
//     a plugin missing on this host do;
//   - never replaces a working version with one that fails to load.
//
// A file is loaded only once it is stable (its size and hash unchanged over the settle
// time), so a file still being copied is never loaded half-written; hidden files and
// files not named *.wasm (".name.tmp", "name.part") are ignored, so tools that write a
// temporary file and rename it are picked up at the rename.
//
// The swap itself is the registry's (host/plugin, swap.go): calls running finish on the
// version they started on, calls starting after the swap run on the new one, and the old
// version's instances are closed once its last call ends.
//
// Like every package under host/, this is the host's implementation, imported by
// cmd/host; it is not a supported API and changes without notice.
package reload

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/abi/signature"
	"github.com/futurecalls/futurecalls/host/catalog"
	"github.com/futurecalls/futurecalls/host/check"
	"github.com/futurecalls/futurecalls/host/metrics"
	"github.com/futurecalls/futurecalls/host/plugin"
	"github.com/futurecalls/futurecalls/host/request"
	"github.com/futurecalls/futurecalls/host/store"
	"github.com/futurecalls/futurecalls/sdk/client"
)

// Policy says what a reload does with a new version that would break stored calls.
type Policy string

// The policies of plugins.reload.onBreaking.
const (
	// Refuse keeps the version running; the refusal is logged and shown by
	// GET /v1/plugins/{name}.
	Refuse Policy = "refuse"
	// Accept swaps anyway: the broken calls fail as broken when they come due.
	Accept Policy = "accept"
	// Delete swaps and moves the broken calls into the history as deleted_broken.
	Delete Policy = "delete"
)

// DefaultSettle is how long a file must stay unchanged before it is loaded, when
// Options.Settle is 0.
const DefaultSettle = 250 * time.Millisecond

// Options configure a Reloader. Dir, Registry, Catalog and Store are required.
type Options struct {
	// Dir is the plugins directory the registry was loaded from.
	Dir      string
	Registry *plugin.Registry
	Catalog  *catalog.Catalog
	Store    *store.Store
	Metrics  *metrics.Metrics
	Logger   *slog.Logger
	// OnBreaking is the policy for versions that would break stored calls; empty
	// means Refuse.
	OnBreaking Policy
	// Settle is how long a file's size and hash must stay the same before it is
	// loaded; 0 means DefaultSettle.
	Settle time.Duration
	// Host names this host in the history rows of calls deleted as broken.
	Host string
}

// Reloader reloads the plugins directory. It is safe for concurrent use; reloads run
// one at a time.
type Reloader struct {
	opts Options
	log  *slog.Logger
	mu   sync.Mutex // one reload at a time; guards failed
	// failed remembers the files that failed to load, by path, with the hash that
	// failed: the same content is not loaded again.
	failed map[string]failure
	// refused holds the latest refused candidate of each plugin, by name.
	refused sync.Map // string → client.Candidate
	// generation counts the changes: the API regenerates what it shows of the plugins
	// when it moves.
	generation atomic.Uint64
}

// failure is a file that failed to load.
type failure struct {
	sha string
	err string
}

// New creates a Reloader.
func New(opts Options) *Reloader {
	if opts.OnBreaking == "" {
		opts.OnBreaking = Refuse
	}
	if opts.Settle <= 0 {
		opts.Settle = DefaultSettle
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Reloader{opts: opts, log: opts.Logger, failed: map[string]failure{}}
	r.publish()
	return r
}

// Generation changes whenever the loaded plugins or their refused candidates do.
func (r *Reloader) Generation() uint64 { return r.generation.Load() }

// Refused returns the latest refused candidate of the named plugin, if one is waiting.
func (r *Reloader) Refused(name string) (client.Candidate, bool) {
	c, ok := r.refused.Load(name)
	if !ok {
		return client.Candidate{}, false
	}
	return c.(client.Candidate), true
}

// module is a module file found in the directory.
type module struct {
	file string
	bin  []byte
	sha  string
}

// Reload compares the plugins directory with the loaded plugins and applies the
// difference, as the package documentation says. It returns what changed. It fails
// only when the directory cannot be read or the stored calls cannot be checked.
func (r *Reloader) Reload(ctx context.Context) (client.Reload, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := client.Reload{Added: []client.PluginChange{}, Swapped: []client.PluginChange{}, Removed: []client.PluginChange{},
		Refused: []client.Candidate{}, Failed: []client.FailedFile{}, Pending: []string{}}
	files, err := moduleFiles(r.opts.Dir)
	if err != nil {
		return res, err
	}
	loaded := map[string]*plugin.Plugin{} // by file
	for _, p := range r.opts.Registry.Plugins() {
		loaded[p.File] = p
	}

	// The files that differ from what runs, once they are stable.
	var changed []module
	present := map[string]bool{}
	for _, file := range files {
		present[file] = true
		m, err := read(file)
		if err != nil {
			continue // gone since the listing: the next event says what became of it
		}
		if p, ok := loaded[file]; ok && p.SHA256 == m.sha {
			// The running version's own file: a candidate refused before is gone.
			if _, had := r.refused.LoadAndDelete(p.Name); had {
				r.generation.Add(1)
			}
			continue
		}
		if f, ok := r.failed[file]; ok && f.sha == m.sha {
			res.Failed = append(res.Failed, client.FailedFile{File: filepath.Base(file), SHA256: m.sha, Error: f.err})
			continue
		}
		changed = append(changed, m)
	}
	changed, pending := r.stable(ctx, changed)
	for _, m := range pending {
		res.Pending = append(res.Pending, filepath.Base(m.file))
		r.log.Info("plugin file still changing: loaded once it is stable", slog.String("file", m.file))
	}
	for file := range r.failed {
		if !present[file] {
			delete(r.failed, file)
		}
	}

	// Load the candidates; a name is taken by its file, or by the first candidate.
	replaced := map[string]bool{} // names a candidate takes over
	holds := map[string]string{}  // file → name of the candidate loaded from it
	for _, m := range changed {
		p, err := r.load(ctx, m, present, replaced)
		if err != nil {
			r.failed[m.file] = failure{sha: m.sha, err: err.Error()}
			res.Failed = append(res.Failed, client.FailedFile{File: filepath.Base(m.file), SHA256: m.sha, Error: err.Error()})
			r.count("failed")
			r.log.Error("plugin candidate not loaded: the version running, if any, stays", slog.String("file", m.file),
				slog.String("sha256", m.sha), slog.Any("error", err))
			continue
		}
		delete(r.failed, m.file)
		replaced[p.Name], holds[m.file] = true, p.Name
		if err := r.place(ctx, p, &res); err != nil {
			return res, err
		}
	}

	// The plugins whose file is gone, or now holds another plugin, and that no
	// candidate took over.
	for _, p := range r.opts.Registry.Plugins() {
		name, taken := holds[p.File]
		if (present[p.File] && (!taken || name == p.Name)) || replaced[p.Name] {
			continue
		}
		if err := r.remove(ctx, p, &res); err != nil {
			return res, err
		}
	}
	r.publish()
	return res, nil
}

// load loads the candidate in m and admits it to the catalog. It refuses a plugin name
// another present file holds, or that a candidate of this reload took already.
func (r *Reloader) load(ctx context.Context, m module, present, taken map[string]bool) (*plugin.Plugin, error) {
	p, err := r.opts.Registry.Candidate(ctx, m.file, m.bin)
	if err != nil {
		return nil, err
	}
	if err := r.opts.Catalog.Admit(p); err != nil {
		r.opts.Registry.Discard(p)
		return nil, err
	}
	owner, ok := r.opts.Registry.Plugin(p.Name)
	switch {
	case taken[p.Name]:
		err = fmt.Errorf("plugin name %q is claimed by another new file too: %s refused", p.Name, filepath.Base(m.file))
	case ok && owner.File != m.file && present[owner.File]:
		err = fmt.Errorf("plugin name %q is claimed by both %s and %s: %s refused",
			p.Name, filepath.Base(owner.File), filepath.Base(m.file), filepath.Base(m.file))
	}
	if err != nil {
		r.opts.Catalog.Forget(p)
		r.opts.Registry.Discard(p)
		return nil, err
	}
	return p, nil
}

// place swaps in or adds candidate p, or refuses it, and records what it did in res.
func (r *Reloader) place(ctx context.Context, p *plugin.Plugin, res *client.Reload) error {
	change := client.PluginChange{Name: p.Name, Version: p.Manifest.Version, File: filepath.Base(p.File), SHA256: p.SHA256}
	old, ok := r.opts.Registry.Plugin(p.Name)
	if !ok {
		r.install(p)
		res.Added = append(res.Added, change)
		r.count("added")
		r.log.Info("plugin added", slog.String("plugin", p.Name), slog.String("version", p.Manifest.Version),
			slog.String("file", p.File), slog.String("sha256", p.SHA256), slog.Int("calls", len(p.Manifest.Calls)))
		return nil
	}
	change.PreviousVersion = old.Manifest.Version
	// Calls scheduled between this check and the swap were validated against the old
	// version: one the new version breaks fails as broken when due (the run-time check).
	report, err := check.Run(ctx, check.Options{Store: r.opts.Store, Signatures: candidate{p}, Plugin: p.Name})
	if err != nil {
		r.opts.Catalog.Forget(p)
		r.opts.Registry.Discard(p)
		return fmt.Errorf("reload %s: %w", p.Name, err)
	}
	if report.Broken > 0 && r.opts.OnBreaking == Refuse {
		c := refusal(p, report)
		r.refused.Store(p.Name, c)
		r.generation.Add(1)
		r.opts.Catalog.Forget(p)
		r.opts.Registry.Discard(p)
		res.Refused = append(res.Refused, c)
		r.count("refused")
		attrs := []any{slog.String("plugin", p.Name), slog.String("running", old.Manifest.Version),
			slog.String("candidate", p.Manifest.Version), slog.String("file", p.File), slog.String("sha256", p.SHA256),
			slog.String("reason", c.Reason), slog.Int64("broken", c.Broken)}
		for _, m := range c.Methods {
			attrs = append(attrs, slog.Int64("broken."+m.Method, m.Count))
		}
		r.log.Warn("plugin candidate refused: the running version stays (plugins.reload.onBreaking: refuse)", attrs...)
		return nil
	}
	r.install(p)
	change.Broken = report.Broken
	if report.Broken > 0 && r.opts.OnBreaking == Delete {
		deleted, err := check.Run(ctx, check.Options{Store: r.opts.Store, Signatures: r.opts.Catalog, Plugin: p.Name,
			Delete: true, Host: r.opts.Host})
		if err != nil {
			return fmt.Errorf("reload %s: delete the broken calls: %w", p.Name, err)
		}
		change.Deleted = deleted.Deleted
	}
	res.Swapped = append(res.Swapped, change)
	r.count("swapped")
	r.log.Info("plugin swapped", slog.String("plugin", p.Name), slog.String("from", old.Manifest.Version),
		slog.String("to", p.Manifest.Version), slog.String("file", p.File), slog.String("sha256", p.SHA256),
		slog.Int64("broken", change.Broken), slog.Int64("deleted", change.Deleted))
	return nil
}

// install makes p the running version of its plugin.
func (r *Reloader) install(p *plugin.Plugin) {
	r.refused.Delete(p.Name)
	if old := r.opts.Registry.Install(p); old != nil {
		r.opts.Catalog.Forget(old)
		if r.opts.Metrics != nil {
			r.opts.Metrics.PluginVersion.DeleteLabelValues(old.Name, old.Manifest.Version)
		}
	}
	if r.opts.Metrics != nil {
		r.opts.Metrics.PluginVersion.WithLabelValues(p.Name, p.Manifest.Version).Set(1)
	}
	r.generation.Add(1)
}

// remove takes out p, whose file is gone, and counts its calls that now wait.
func (r *Reloader) remove(ctx context.Context, p *plugin.Plugin, res *client.Reload) error {
	r.opts.Registry.Remove(p.Name)
	r.opts.Catalog.Forget(p)
	r.refused.Delete(p.Name)
	r.generation.Add(1)
	if r.opts.Metrics != nil {
		r.opts.Metrics.PluginVersion.DeleteLabelValues(p.Name, p.Manifest.Version)
	}
	report, err := check.Run(ctx, check.Options{Store: r.opts.Store, Signatures: r.opts.Catalog, Plugin: p.Name})
	if err != nil {
		return fmt.Errorf("reload: count the calls of removed plugin %s: %w", p.Name, err)
	}
	res.Removed = append(res.Removed, client.PluginChange{Name: p.Name, Version: p.Manifest.Version,
		File: filepath.Base(p.File), SHA256: p.SHA256, Waiting: report.Unavailable})
	r.count("removed")
	r.log.Warn("plugin removed: its file is gone; its stored calls wait for a host that has it", slog.String("plugin", p.Name),
		slog.String("version", p.Manifest.Version), slog.String("file", p.File), slog.Int64("waiting", report.Unavailable))
	return nil
}

// publish moves the generation and sets the version metric of every loaded plugin.
func (r *Reloader) publish() {
	r.generation.Add(1)
	if r.opts.Metrics == nil {
		return
	}
	for _, p := range r.opts.Registry.Plugins() {
		r.opts.Metrics.PluginVersion.WithLabelValues(p.Name, p.Manifest.Version).Set(1)
	}
}

func (r *Reloader) count(result string) {
	if r.opts.Metrics != nil {
		r.opts.Metrics.Reloads.WithLabelValues(result).Inc()
	}
}

// stable waits the settle time and reads the files again: those whose content did not
// change are returned first, the others, still being written, second.
func (r *Reloader) stable(ctx context.Context, ms []module) (stable, pending []module) {
	if len(ms) == 0 {
		return nil, nil
	}
	t := time.NewTimer(r.opts.Settle)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return nil, ms
	}
	for _, m := range ms {
		again, err := read(m.file)
		if err != nil || again.sha != m.sha {
			pending = append(pending, m)
			continue
		}
		stable = append(stable, m)
	}
	return stable, pending
}

// read reads a module file and hashes it.
func read(file string) (module, error) {
	bin, err := os.ReadFile(file)
	if err != nil {
		return module{}, err
	}
	sum := sha256.Sum256(bin)
	return module{file: file, bin: bin, sha: hex.EncodeToString(sum[:])}, nil
}

// moduleFiles lists the module files of dir (plugin.IsModuleFile) that are regular
// files or links to them, sorted.
func moduleFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reload: read the plugins directory: %w", err)
	}
	var files []string
	for _, e := range entries {
		if !plugin.IsModuleFile(e.Name()) {
			continue
		}
		file := filepath.Join(dir, e.Name())
		if info, err := os.Stat(file); err == nil && info.Mode().IsRegular() {
			files = append(files, file)
		}
	}
	return files, nil
}

// refusal describes candidate p refused because of report's broken calls.
func refusal(p *plugin.Plugin, report check.Report) client.Candidate {
	c := client.Candidate{Name: p.Name, Version: p.Manifest.Version, File: filepath.Base(p.File), SHA256: p.SHA256,
		RefusedAt: time.Now().UTC(), Broken: report.Broken, Methods: []client.BrokenMethod{}}
	var reasons []string
	for _, g := range report.Groups {
		if g.Kind == check.PluginMissing {
			continue
		}
		c.Methods = append(c.Methods, client.BrokenMethod{Method: g.Method, Kind: string(g.Kind), Count: g.Count, Reason: g.Reason})
		reasons = append(reasons, fmt.Sprintf("%s: %d (%s)", g.Method, g.Count, g.Kind))
	}
	sort.Slice(c.Methods, func(i, j int) bool { return c.Methods[i].Method < c.Methods[j].Method })
	slices.Sort(reasons)
	c.Reason = fmt.Sprintf("version %s would break %d stored calls of plugin %s: %s", p.Manifest.Version, report.Broken,
		p.Name, strings.Join(reasons, ", "))
	return c
}

// candidate gives the signatures of a candidate version to the broken-call check.
type candidate struct{ p *plugin.Plugin }

func (c candidate) Method(pluginName, method string) (*signature.Method, abi.Retry, error) {
	if pluginName != c.p.Name {
		return nil, abi.Retry{}, fmt.Errorf("%w %q", request.ErrUnknownPlugin, pluginName)
	}
	m, ok := c.p.Method(method)
	if !ok {
		return nil, abi.Retry{}, fmt.Errorf("%w %q of plugin %s", request.ErrUnknownMethod, method, pluginName)
	}
	return m, abi.Retry{}, nil
}
