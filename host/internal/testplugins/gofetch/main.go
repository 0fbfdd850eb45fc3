// Command gofetch is a test plugin in Go that makes its requests with net/http's client
// on the SDK's fchttp.Transport, as ordinary Go code does: get(url) GETs url and logs
// "<status line> | <Content-Type> | <body>", or fails with the client's error.
package main

import (
	"fmt"
	"io"

	fc "github.com/futurecalls/futurecalls/sdk/go"
	"github.com/futurecalls/futurecalls/sdk/go/fchttp"
)

func init() {
	fc.Plugin("gofetch", "1.0.0")
	fc.Register("get", get, "url")
}

func get(c fc.Call, url string) error {
	resp, err := fchttp.Client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	fc.Logger().Info(fmt.Sprintf("%s | %s | %s", resp.Status, resp.Header.Get("Content-Type"), body))
	return nil
}

func main() {}
