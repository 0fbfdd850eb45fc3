//go:build !wasip1

package fc

import (
	"fmt"
	"os"

	"github.com/futurecalls/futurecalls/abi"
)

// platformHost stands in for the host outside WebAssembly, so that plugins build and
// test natively: logs go to standard error, and every other request fails.
type platformHost struct{}

func (platformHost) log(level int32, msg string) {
	fmt.Fprintf(os.Stderr, "fc %s: %s\n", levelName(level), msg)
}

func (platformHost) schedule([]byte) int64 { return abi.ScheduleHostError }

func (platformHost) cancel(string) int64 { return abi.ScheduleHostError }

func (platformHost) lastError() string { return "not running inside a futurecalls host" }

func (platformHost) http([]byte) int64 { return abi.ScheduleHostError }

func (platformHost) config(string) int64 { return abi.ScheduleHostError }

func (platformHost) stateGet(string) int64 { return abi.ScheduleHostError }

func (platformHost) statePut(string, []byte) int64 { return abi.ScheduleHostError }

func (platformHost) stateDelete(string) int64 { return abi.ScheduleHostError }

func (platformHost) result(uint32) []byte { return nil }
