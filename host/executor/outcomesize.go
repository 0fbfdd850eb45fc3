package executor

import "github.com/futurecalls/futurecalls/host/store"

// Memory bounds of the outcomes waiting to be recorded. A call may buffer up to the
// sandbox's per-call budget of follow-ups, so counting outcomes alone (maxUnrecorded)
// does not bound the host's memory, nor the size of one INSERT.
const (
	// DefaultUnrecordedBytes is the default of Options.UnrecordedBytes: 64 MiB holds
	// tens of thousands of ordinary outcomes (a few hundred bytes each), so it never
	// slows a healthy host, while a stalled database can make the queue cost no more
	// than a small multiple of one call's sandbox memory.
	DefaultUnrecordedBytes = 64 << 20
	// maxBatchBytes bounds the bytes of outcomes recorded in one transaction, so that
	// one statement's parameters (and PostgreSQL's copy of them) stay small. A single
	// outcome larger than this is recorded alone.
	maxBatchBytes = 4 << 20
	// outcomeOverhead and effectOverhead approximate the fixed cost of an outcome and
	// of one of its effects in memory and on the wire: structs, times, names, columns.
	outcomeOverhead = 256
	effectOverhead  = 192
)

// outcomeBytes is what o costs while it waits to be recorded: a fixed overhead, its
// error text, each effect's arguments, identifier and names, and its state writes and
// the keys it read.
func outcomeBytes(o store.Outcome) int64 {
	n := int64(outcomeOverhead + len(o.Error))
	for _, e := range o.Effects {
		n += effectOverhead + int64(len(e.CancelIdentifier))
		if c := e.Schedule; c != nil {
			n += int64(len(c.Plugin) + len(c.Method) + len(c.Args) + len(c.Identifier))
			if c.Series != nil {
				n += int64(len(c.Series.Cron) + len(c.Series.TimeZone))
			}
		}
	}
	if st := o.State; st != nil {
		for _, w := range st.Writes {
			n += effectOverhead + int64(len(w.Key)+len(w.Value))
		}
		for k := range st.Reads {
			n += effectOverhead + int64(len(k))
		}
	}
	return n
}

// batchLen is how many outcomes from the front of queue go into the next batch: at
// most maxBatch, and no more than maxBatchBytes unless the first alone is larger.
func batchLen(queue []store.Outcome) int {
	var bytes int64
	for i, o := range queue {
		bytes += outcomeBytes(o)
		if i == maxBatch || (i > 0 && bytes > maxBatchBytes) {
			return i
		}
	}
	return len(queue)
}
