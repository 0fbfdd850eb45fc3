// Command example is Serverpod's example future call as a futurecalls plugin: doWork()
// and doOtherWork(data string), each logging what it does. Build it with `make plugins`.
// kinds reads a value of every JSON kind, logs it and calls itself again with it, for the
// conformance suite (examples/conformance).
package main

import (
	"strings"
	"time"

	fc "github.com/futurecalls/futurecalls/sdk/go"
)

func init() {
	fc.Plugin("example", "1.0.0")
	fc.Describe("Serverpod's example future calls")
	fc.Register("doWork", doWork).Describe("does something interesting in the future")
	fc.Register("doOtherWork", doOtherWork, "data").Describe("does something interesting with data in the future")
	fc.Register("kinds", kinds, "text", "count", "ratio", "flag", "tags", "point", "note").
		Describe("Reads a value of every JSON kind, logs it, and calls itself again in an hour with it.")
}

func doWork(c fc.Call) error {
	fc.Logf(fc.LevelInfo, "doWork: call %d, due %s", c.ID, c.ScheduledAt.Format("2006-01-02T15:04:05Z07:00"))
	return nil
}

func doOtherWork(c fc.Call, data string) error {
	fc.Logf(fc.LevelInfo, "doOtherWork: %s", data)
	return nil
}

// point is the record parameter of kinds.
type point struct {
	X int64 `json:"x"`
	Y int64 `json:"y"`
}

func kinds(c fc.Call, text string, count int64, ratio float64, flag bool, tags []string, p point, note *string) error {
	shown := "none"
	if note != nil {
		shown = *note
	}
	fc.Logf(fc.LevelInfo, "kinds: text=%s count=%d ratio=%v flag=%t tags=[%s] point={x:%d y:%d} note=%s",
		text, count, ratio, flag, strings.Join(tags, ","), p.X, p.Y, shown)
	args := fc.Args{"text": text, "count": count, "ratio": ratio, "flag": flag, "tags": tags, "point": p}
	if note != nil {
		args["note"] = *note
	}
	return fc.Schedule(fc.Request{Method: "kinds", Args: args, Delay: time.Hour})
}

func main() {}
