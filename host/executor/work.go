package executor

import (
	"context"
	"sync"
	"time"

	"github.com/futurecalls/futurecalls/host/store"
)

// start runs c on an idle worker, or on a new one when none is idle.
func (e *Executor) start(ctx context.Context, c store.Call, running *sync.WaitGroup) {
	select {
	case e.jobs <- c:
	default:
		running.Add(1)
		go e.work(ctx, c, running)
	}
}

// work runs c, then the calls handed to it while it waits, until it has waited
// idleWorker or Run stops claiming. A worker keeps the stack it grew running guest
// code: with a new goroutine per call, copying growing stacks took a sixth of the
// host's CPU time.
func (e *Executor) work(ctx context.Context, c store.Call, running *sync.WaitGroup) {
	defer running.Done()
	idle := time.NewTimer(idleWorker)
	defer idle.Stop()
	for {
		o := e.run(ctx, c)
		e.unrecorded.Add(1)
		e.unrecordedBytes.Add(outcomeBytes(o))
		e.done <- o
		roomFreed := e.throttles.finished(c.Plugin)
		if e.slots != nil {
			<-e.slots
			e.signal()
		} else if roomFreed {
			e.signal()
		}
		idle.Reset(idleWorker)
		select {
		case c = <-e.jobs:
		case <-idle.C:
			return
		case <-e.quit:
			return
		}
	}
}
