// Command kinds is a futurecalls plugin for the conformance suite (examples/conformance):
// kinds reads a value of every JSON kind, logs it and calls itself again an hour later
// with it. The other SDKs have this method on their example plugin; Go's example keeps
// exactly Serverpod's two methods, which the host's own tests count on.
package main

import (
	"fmt"
	"strings"
	"time"

	fc "github.com/futurecalls/futurecalls/sdk/go"
)

func init() {
	fc.Plugin("kinds", "1.0.0")
	fc.Describe("Reads every JSON kind, for the conformance suite")
	fc.Register("kinds", kinds, "text", "count", "ratio", "flag", "tags", "point", "note").
		Describe("Reads a value of every JSON kind, logs it, and calls itself again in an hour with it.")
}

// point is the record parameter of kinds.
type point struct {
	X int64 `json:"x"`
	Y int64 `json:"y"`
}

// kinds takes a string, an integer, a float, a boolean, an array, a record and an
// optional parameter (a pointer: nil when left out).
func kinds(c fc.Call, text string, count int64, ratio float64, flag bool, tags []string, p point, note *string) error {
	shown := "none"
	if note != nil {
		shown = *note
	}
	fc.Logger().Info(fmt.Sprintf("kinds: text=%s count=%d ratio=%v flag=%t tags=[%s] point={x:%d y:%d} note=%s",
		text, count, ratio, flag, strings.Join(tags, ","), p.X, p.Y, shown))
	args := fc.Args{"text": text, "count": count, "ratio": ratio, "flag": flag, "tags": tags, "point": p}
	if note != nil {
		args["note"] = *note
	}
	return fc.Schedule(fc.Request{Method: "kinds", Args: args, Delay: time.Hour})
}

func main() {}
