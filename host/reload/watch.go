package reload

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/futurecalls/futurecalls/host/plugin"
)

// Watch reloads when the plugins directory changes, and whenever hangup receives a
// signal (SIGHUP), until ctx ends. Changes are gathered: a reload starts once no module
// file changed for the settle time, and a reload that finds files still being written
// runs again after it. With watch false it serves hangup only.
func (r *Reloader) Watch(ctx context.Context, watch bool, hangup <-chan os.Signal) error {
	var events <-chan fsnotify.Event
	var errs <-chan error
	if watch {
		w, err := fsnotify.NewWatcher()
		if err != nil {
			return fmt.Errorf("reload: watch the plugins directory: %w", err)
		}
		defer func() { _ = w.Close() }()
		if err := w.Add(r.opts.Dir); err != nil {
			return fmt.Errorf("reload: watch the plugins directory %s: %w", r.opts.Dir, err)
		}
		events, errs = w.Events, w.Errors
		r.log.Info("watching the plugins directory", slog.String("dir", r.opts.Dir))
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	reload := func(why string) {
		res, err := r.Reload(ctx)
		if err != nil {
			if ctx.Err() == nil {
				r.log.Error("plugin reload failed", slog.String("trigger", why), slog.Any("error", err))
			}
			return
		}
		if len(res.Pending) > 0 {
			timer.Reset(r.opts.Settle)
		}
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev := <-events:
			if plugin.IsModuleFile(filepath.Base(ev.Name)) {
				timer.Reset(r.opts.Settle) // gather: wait until the writes stop
			}
		case err := <-errs:
			r.log.Warn("watching the plugins directory", slog.Any("error", err))
			timer.Reset(r.opts.Settle) // events may be lost: look at the directory
		case <-timer.C:
			reload("watch")
		case sig := <-hangup:
			r.log.Info("reloading the plugins on a signal", slog.String("signal", sig.String()))
			reload("signal")
		}
	}
}
