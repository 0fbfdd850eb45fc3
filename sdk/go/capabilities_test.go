package fc

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"testing"

	"github.com/futurecalls/futurecalls/abi"
)

func TestHTTP(t *testing.T) {
	h := withHost(t)
	h.response = `{"status": 202, "headers": {"Content-Type": "application/json"}, "body": "{\"id\": \"m-1\"}"}`
	resp, err := HTTP(HTTPRequest{Method: "POST", URL: "https://api.mail.example/v1/send",
		Headers: map[string]string{"Authorization": "Bearer t"}, Body: `{"to": "ada"}`})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := resp.Bytes()
	if resp.Status != 202 || resp.Headers["Content-Type"] != "application/json" || string(body) != `{"id": "m-1"}` {
		t.Errorf("response = %+v", resp)
	}
	var sent abi.HTTPRequest
	if err := json.Unmarshal([]byte(h.fetched[0]), &sent); err != nil {
		t.Fatal(err)
	}
	if sent.Method != "POST" || sent.URL != "https://api.mail.example/v1/send" || sent.Headers["Authorization"] != "Bearer t" || sent.Body != `{"to": "ada"}` {
		t.Errorf("the host was given %s", h.fetched[0])
	}

	h.response = `{"status": 200, "headers": {}, "bodyBase64": "` + base64.StdEncoding.EncodeToString([]byte{0, 0xff}) + `"}`
	resp, err = HTTP(HTTPRequest{URL: "https://x.example/"})
	if err != nil {
		t.Fatal(err)
	}
	if body, _ := resp.Bytes(); string(body) != "\x00\xff" {
		t.Errorf("base64 body read as %q", body)
	}
}

func TestCapabilityErrors(t *testing.T) {
	for _, tc := range []struct {
		code int64
		want error
	}{
		{abi.ScheduleInvalid, ErrInvalid},
		{abi.ScheduleLimit, ErrLimit},
		{abi.ScheduleHostError, ErrHost},
		{abi.NotFound, ErrNotFound},
		{abi.Denied, ErrDenied},
	} {
		t.Run(tc.want.Error(), func(t *testing.T) {
			h := withHost(t)
			h.code, h.message = tc.code, "the reason"
			_, errHTTP := HTTP(HTTPRequest{URL: "https://x.example/"})
			_, errGet := StateGet("k")
			_, errConfig := Config("k")
			for op, err := range map[string]error{"http": errHTTP, "config": errConfig, "state_get": errGet,
				"state_put": StatePut("k", nil), "state_delete": StateDelete("k")} {
				var he *HostError
				if !errors.Is(err, tc.want) || !errors.As(err, &he) || he.Op != op || he.Message != "the reason" {
					t.Errorf("%s: err = %v, want %v", op, err, tc.want)
				}
			}
		})
	}
}

func TestConfig(t *testing.T) {
	h := withHost(t)
	h.configs = map[string]string{"from": "noreply@example.com", "empty": ""}
	if v, err := Config("from"); err != nil || v != "noreply@example.com" {
		t.Errorf("Config(from) = %q, %v", v, err)
	}
	if v, err := Config("empty"); err != nil || v != "" {
		t.Errorf("Config(empty) = %q, %v", v, err)
	}
	if _, err := Config("missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Config(missing): %v, want ErrNotFound", err)
	}
}

func TestStateJSON(t *testing.T) {
	withHost(t)
	type mailed struct{ Count int }
	var m mailed
	if found, err := GetJSON("mailed-1", &m); found || err != nil {
		t.Fatalf("GetJSON of a missing key = %v, %v", found, err)
	}
	if err := PutJSON("mailed-1", mailed{Count: 2}); err != nil {
		t.Fatal(err)
	}
	if found, err := GetJSON("mailed-1", &m); !found || err != nil || m.Count != 2 {
		t.Fatalf("GetJSON = %v, %v, %+v", found, err, m)
	}
	if err := StatePut("raw", []byte("not json")); err != nil {
		t.Fatal(err)
	}
	if found, err := GetJSON("raw", &m); !found || err == nil {
		t.Errorf("GetJSON of a value that is not JSON = %v, %v", found, err)
	}
	if err := StateDelete("mailed-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := StateGet("mailed-1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("StateGet after StateDelete: %v", err)
	}
}
