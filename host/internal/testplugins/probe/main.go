// Command probe is a well-behaved Go test plugin whose calls the host's tests use to see
// what a call did: it logs, schedules, cancels, fails, sleeps, allocates and exits on
// request. Its calls are listed in the testplugins package documentation.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	fc "github.com/futurecalls/futurecalls/sdk/go"
)

func init() {
	fc.Plugin("probe", "1.0.0")
	fc.Describe("test plugin: calls that show what they did")
	fc.Register("echo", echo, "text")
	fc.Register("record", record, "label")
	fc.Register("fail", fail, "message")
	fc.Register("sleep", sleep, "ms")
	fc.Register("busy", busy, "ms")
	fc.Register("schedule", schedule, "request")
	fc.Register("scheduleThenFail", scheduleThenFail, "request")
	fc.Register("chain", chain, "left")
	fc.Register("cancel", cancel, "identifier")
	fc.Register("cancelMany", cancelMany, "identifier", "times")
	fc.Register("alloc", alloc, "mb")
	fc.Register("exit", exit, "code")
	fc.Register("panic", panicking, "message")
	fc.Register("stdout", stdout, "text")
	fc.Register("counter", counter)
	fc.Register("typed", typed, "signup", "tags", "at", "limits", "note")
	fc.Register("readFile", readFile, "path")
	fc.Register("env", env, "name")
	fc.Register("dial", dial, "address")
	fc.Register("nul", nul, "where")
	fc.Register("indexImage", indexImage, "imageId", "path", "size")
	fc.Subscribe("image.uploaded", "indexImage")
	fc.Subscribe("work.slow", "sleep")
	fc.Register("publish", publish, "request")
	fc.Register("publishThenFail", publishThenFail, "request")
}

// indexImage is probe's subscription to "image.uploaded", whose payload it takes typed.
func indexImage(c fc.Call, imageID int, path string, size *int) error {
	fc.Logger().Info(fmt.Sprintf("indexImage %d %s size=%v message=%d", imageID, path, size != nil, c.MessageID))
	return nil
}

func publish(c fc.Call, request json.RawMessage) error {
	n, err := fc.PublishJSON(request)
	if err != nil {
		return err
	}
	fc.Logger().Info(fmt.Sprintf("published to %d", n))
	return nil
}

func publishThenFail(c fc.Call, request json.RawMessage) error {
	if _, err := fc.PublishJSON(request); err != nil {
		return err
	}
	return errors.New("failed after publishing")
}

func echo(c fc.Call, text string) error {
	fc.Logger().Info("echo: " + text)
	return nil
}

func record(c fc.Call, label string) error {
	return fc.Schedule(fc.Request{Method: "echo", Args: fc.Args{"text": label}, Identifier: "probe-" + label})
}

func fail(c fc.Call, message string) error { return errors.New(message) }

func sleep(c fc.Call, ms int) error {
	time.Sleep(time.Duration(ms) * time.Millisecond)
	fc.Logger().Info(fmt.Sprintf("slept %d ms", ms))
	return nil
}

func busy(c fc.Call, ms int) error {
	for end := time.Now().Add(time.Duration(ms) * time.Millisecond); time.Now().Before(end); {
	}
	fc.Logger().Info(fmt.Sprintf("busy %d ms", ms))
	return nil
}

func schedule(c fc.Call, request json.RawMessage) error { return fc.ScheduleJSON(request) }

func scheduleThenFail(c fc.Call, request json.RawMessage) error {
	if err := fc.ScheduleJSON(request); err != nil {
		return err
	}
	return errors.New("failed after scheduling")
}

// chain is the recurring-task pattern: a call that schedules its own next run, left
// more times.
func chain(c fc.Call, left int) error {
	fc.Logger().Info(fmt.Sprintf("chain %d", left))
	if left == 0 {
		return nil
	}
	return fc.Schedule(fc.Request{Method: "chain", Args: fc.Args{"left": left - 1}, Identifier: c.Identifier})
}

// cancelMany calls fc.cancel times times, failing with the host's reason at the first
// refusal.
func cancelMany(c fc.Call, identifier string, times int) error {
	for range times {
		if _, err := fc.Cancel(identifier); err != nil {
			return err
		}
	}
	return nil
}

func cancel(c fc.Call, identifier string) error {
	n, err := fc.Cancel(identifier)
	if err != nil {
		return err
	}
	fc.Logger().Info(fmt.Sprintf("cancel %s: %d", identifier, n))
	return nil
}

// kept holds what alloc allocated, so that it stays allocated.
var kept [][]byte

func alloc(c fc.Call, mb int) error {
	for range mb {
		b := make([]byte, 1<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		kept = append(kept, b)
	}
	fc.Logger().Info(fmt.Sprintf("allocated %d MiB", mb))
	return nil
}

func exit(c fc.Call, code int) error {
	os.Exit(code)
	return nil
}

func panicking(c fc.Call, message string) error { panic(message) }

func stdout(c fc.Call, text string) error {
	fmt.Println(text)
	fmt.Fprintln(os.Stderr, text)
	return nil
}

// calls counts the calls counter served on this instance.
var calls int

func counter(c fc.Call) error {
	calls++
	fc.Logger().Info(fmt.Sprintf("counter %d", calls))
	return nil
}

// Signup is a record parameter.
type Signup struct {
	UserID int64  `json:"userId"`
	Email  string `json:"email"`
	Plan   string `json:"plan"`
}

func typed(c fc.Call, s Signup, tags []string, at time.Time, limits map[string]int32, note *string) error {
	fc.Logger().Info("typed", "signup", s, "tags", tags, "at", at, "limits", limits, "note", note != nil)
	return nil
}

// The sandbox probes below try to reach outside the sandbox and log what they got, one
// line each, starting with their own name; they succeed either way, so that the log
// line, not the outcome, says whether the sandbox held.

// readFile logs what reading path, listing "/" and "." and finding pre-opened
// directories gave.
func readFile(c fc.Call, path string) error {
	b, err := os.ReadFile(path)
	fc.Logger().Info(fmt.Sprintf("readFile %s: %s", path, result(len(b), err)))
	for _, dir := range []string{"/", "."} {
		entries, err := os.ReadDir(dir)
		fc.Logger().Info(fmt.Sprintf("readFile: list %s: %s", dir, result(len(entries), err)))
	}
	return nil
}

// env logs the named variable and how many variables the guest sees.
func env(c fc.Call, name string) error {
	v, ok := os.LookupEnv(name)
	fc.Logger().Info(fmt.Sprintf("env %s: set=%t value=%q; %d variables, args %q", name, ok, v, len(os.Environ()), os.Args))
	return nil
}

// dial logs what dialling address over TCP gave, and what the descriptors a host might
// have passed on (3 to 15: pre-opened sockets and files) are.
func dial(c fc.Call, address string) error {
	conn, err := net.DialTimeout("tcp", address, 2*time.Second)
	if err == nil {
		_, werr := conn.Write([]byte("probe was here\n"))
		conn.Close()
		fc.Logger().Info(fmt.Sprintf("dial %s: connected (write error: %v)", address, werr))
	} else {
		fc.Logger().Info(fmt.Sprintf("dial %s: error %v", address, err))
	}
	var open []string
	for fd := 3; fd <= 15; fd++ {
		f := os.NewFile(uintptr(fd), fmt.Sprintf("fd%d", fd))
		if _, err := f.Stat(); err == nil {
			open = append(open, fmt.Sprint(fd))
		}
	}
	fc.Logger().Info(fmt.Sprintf("dial: open descriptors [%s]", strings.Join(open, " ")))
	return nil
}

func result(n int, err error) string {
	if err != nil {
		return "error " + err.Error()
	}
	return fmt.Sprintf("ok %d", n)
}

// nul hands the host text it cannot store as it is: a NUL byte in an error message
// (where = "error"), in a follow-up's arguments ("schedule"), or a NUL and invalid
// UTF-8 on stderr before exiting with code 5 ("stderr"); it fails for any other where.
func nul(c fc.Call, where string) error {
	switch where {
	case "error":
		return errors.New("nul\x00byte \xff")
	case "schedule":
		return fc.Schedule(fc.Request{Method: "echo", Args: fc.Args{"text": "nul\x00byte"}})
	case "stderr":
		_, _ = os.Stderr.WriteString("nul\x00byte \xff\n")
		os.Exit(5)
	}
	return fmt.Errorf("nul: unknown where %q", where)
}

func main() {}
