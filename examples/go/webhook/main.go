// Command webhook is a futurecalls plugin that delivers a webhook at a given time: post
// sends a JSON payload to a URL, with the headers given, and retries until the receiver
// answers with a 2xx status. Every attempt of one call carries the same
// Idempotency-Key (the host adds it), so a receiver that honours the header acts once.
//
// It reaches only what the operator allows (the README, Granting access):
//
//	sandbox:
//	  plugins:
//	    webhook:
//	      http: {allow: ["https://*.hooks.example", "http://127.0.0.1:9000"]}
//
// Build it with `make plugins`.
package main

import (
	"encoding/json"
	"fmt"
	"strings"

	fc "github.com/futurecalls/futurecalls/sdk/go"
)

func init() {
	fc.Plugin("webhook", "1.0.0")
	fc.Describe("Delivers a webhook at a given time, retried until the receiver accepts it")
	fc.DefaultRetry(fc.RetryPolicy{MaxAttempts: 8, Backoff: "10s", MaxBackoff: "30m"})
	fc.Register("post", post, "url", "payload", "headers").
		Describe("POSTs the JSON payload to url; a status other than 2xx fails the attempt and is retried")
}

// post sends payload to url as JSON, with the optional headers.
func post(c fc.Call, url string, payload json.RawMessage, headers *map[string]string) error {
	sent := map[string]string{"Content-Type": "application/json"}
	if headers != nil {
		for name, value := range *headers {
			sent[name] = value
		}
	}
	resp, err := fc.HTTP(fc.HTTPRequest{Method: "POST", URL: url, Headers: sent, Body: string(payload)})
	if err != nil {
		return err
	}
	// Only the host is named: webhook URLs often carry a token in their path.
	if resp.Status < 200 || resp.Status > 299 {
		return fmt.Errorf("the webhook receiver at %s answered %d", hostOf(url), resp.Status)
	}
	fc.Logger().Info(fmt.Sprintf("webhook delivered to %s: %d", hostOf(url), resp.Status))
	return nil
}

// hostOf is the scheme and host of a URL the host accepted (an absolute http or https
// URL without user info).
func hostOf(url string) string {
	scheme, rest, found := strings.Cut(url, "://")
	if !found {
		return "?"
	}
	host, _, _ := strings.Cut(rest, "/")
	host, _, _ = strings.Cut(host, "?")
	return scheme + "://" + host
}

func main() {}
