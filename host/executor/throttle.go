package executor

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Throttle limits the calls of one plugin on this host (sandbox.plugins.<name>.concurrency,
// .rate and .burst), so that a spike of one plugin's calls (a burst of messages, say)
// waits its turn while other plugins' calls keep running.
type Throttle struct {
	// Concurrency caps the plugin's calls running at once on this host; 0 means no cap
	// beyond the host's own.
	Concurrency int
	// Rate caps the plugin's calls started per second on this host; 0 means no cap.
	Rate float64
	// Burst is how many calls may start at once when the plugin has been idle. Defaults
	// to the rate rounded up (at least 1).
	Burst int
}

// throttles keep the state of every throttled plugin: how many of its calls run, and
// its rate limiter. The claim loop asks them how many calls of each plugin it may
// claim, so that it never claims a call it could not start.
type throttles struct {
	mu sync.Mutex
	by map[string]*throttle
}

type throttle struct {
	Throttle
	running int
	limiter *rate.Limiter // nil without a rate
}

func newThrottles(limits map[string]Throttle) *throttles {
	t := &throttles{by: map[string]*throttle{}}
	for name, l := range limits {
		if l.Concurrency <= 0 && l.Rate <= 0 {
			continue
		}
		th := &throttle{Throttle: l}
		if l.Rate > 0 {
			burst := l.Burst
			if burst <= 0 {
				burst = max(1, int(math.Ceil(l.Rate)))
			}
			th.limiter = rate.NewLimiter(rate.Limit(l.Rate), burst)
		}
		t.by[name] = th
	}
	return t
}

// throttled reports whether plugin has limits of its own.
func (t *throttles) throttled(plugin string) bool {
	_, ok := t.by[plugin] // by is never written after newThrottles
	return ok
}

// room returns how many calls of a throttled plugin may start now, and when to look
// again if none may because of its rate (zero when only a running call's end frees
// room: that signals the loop).
func (t *throttles) room(plugin string, now time.Time) (int, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	th := t.by[plugin]
	n := math.MaxInt
	if th.Concurrency > 0 {
		n = th.Concurrency - th.running
	}
	var wait time.Duration
	if th.limiter != nil {
		tokens := th.limiter.TokensAt(now)
		if tokens < 1 {
			wait = time.Duration((1 - tokens) / float64(th.limiter.Limit()) * float64(time.Second))
		}
		n = min(n, int(tokens))
	}
	if n > 0 {
		wait = 0
	}
	return max(n, 0), wait
}

// started records that n calls of plugin were claimed to start now.
func (t *throttles) started(plugin string, n int, now time.Time) {
	th, ok := t.by[plugin]
	if !ok || n == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	th.running += n
	if th.limiter != nil {
		th.limiter.AllowN(now, n)
	}
}

// finished records that a call of plugin ended, and reports whether that freed room
// the plugin was waiting for.
func (t *throttles) finished(plugin string) bool {
	th, ok := t.by[plugin]
	if !ok {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	th.running--
	return th.Concurrency > 0 && th.running == th.Concurrency-1
}
