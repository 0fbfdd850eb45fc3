// Command benchgo is the benchmarks' Go plugin: noop() does nothing, so a drain of
// noop calls measures what the host and the Go runtime in the guest cost per call;
// sleep(ms) holds a call in flight for the footprint scenario.
package main

import (
	"time"

	fc "github.com/futurecalls/futurecalls/sdk/go"
)

func init() {
	fc.Plugin("benchgo", "1.0.0")
	fc.Describe("benchmark plugin in Go: a no-op and a sleep")
	fc.Register("noop", func(fc.Call) error { return nil }).Describe("does nothing")
	fc.Register("sleep", func(_ fc.Call, ms int) error {
		time.Sleep(time.Duration(ms) * time.Millisecond)
		return nil
	}, "ms").Describe("sleeps ms milliseconds")
}

func main() {}
