// Command example is Serverpod's example future call as a futurecalls plugin: doWork()
// and doOtherWork(data string), each logging what it does. Build it with `make plugins`.
package main

import (
	"fmt"

	fc "github.com/futurecalls/futurecalls/sdk/go"
)

func init() {
	fc.Plugin("example", "1.0.0")
	fc.Describe("Serverpod's example future calls")
	fc.Register("doWork", doWork).Describe("does something interesting in the future")
	fc.Register("doOtherWork", doOtherWork, "data").Describe("does something interesting with data in the future")
}

func doWork(c fc.Call) error {
	fc.Logger().Info(fmt.Sprintf("doWork: call %d, due %s", c.ID, c.ScheduledAt.Format("2006-01-02T15:04:05Z07:00")))
	return nil
}

func doOtherWork(c fc.Call, data string) error {
	fc.Logger().Info("doOtherWork: " + data)
	return nil
}

func main() {}
