//go:build !wasip1

package fc

import (
	"fmt"
	"os"

	"github.com/futurecalls/futurecalls/abi"
)

// platformHost stands in for the host outside WebAssembly, so that plugins build and
// test natively: logs go to standard error, and scheduling fails.
type platformHost struct{}

func (platformHost) log(level int32, msg string) {
	fmt.Fprintf(os.Stderr, "fc %s: %s\n", levelName(level), msg)
}

func (platformHost) schedule([]byte) int64 { return abi.ScheduleHostError }

func (platformHost) cancel(string) int64 { return abi.ScheduleHostError }

func (platformHost) lastError() string { return "not running inside a futurecalls host" }
