package fchttp

import (
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/futurecalls/futurecalls/abi"
	fc "github.com/futurecalls/futurecalls/sdk/go"
)

func TestToRequest(t *testing.T) {
	req, err := http.NewRequest(http.MethodPost, "https://api.mail.example/v1/send?x=1", strings.NewReader(`{"to":"ada"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Add("Accept", "text/plain")
	req.Header.Add("Accept", "application/json")
	r, err := toRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	if r.Method != "POST" || r.URL != "https://api.mail.example/v1/send?x=1" || r.Body != `{"to":"ada"}` || r.BodyBase64 != "" {
		t.Errorf("request = %+v", r)
	}
	if r.Headers["Content-Type"] != "application/json" || r.Headers["Accept"] != "text/plain, application/json" {
		t.Errorf("headers = %v", r.Headers)
	}

	binary, _ := http.NewRequest(http.MethodPut, "https://x.example/", strings.NewReader("\xff\x00"))
	r, err = toRequest(binary)
	if err != nil {
		t.Fatal(err)
	}
	if r.Body != "" || r.BodyBase64 != base64.StdEncoding.EncodeToString([]byte("\xff\x00")) {
		t.Errorf("a body that is not UTF-8 must go as base64: %+v", r)
	}
}

func TestFromResponse(t *testing.T) {
	req, _ := http.NewRequest(http.MethodGet, "https://x.example/", nil)
	for _, tc := range []struct {
		name string
		resp abi.HTTPResponse
		want string
		line string
	}{
		{"text", abi.HTTPResponse{Status: 201, Headers: map[string]string{"Content-Type": "application/json"}, Body: `{"id":1}`}, `{"id":1}`, "201 Created"},
		{"bytes", abi.HTTPResponse{Status: 200, BodyBase64: base64.StdEncoding.EncodeToString([]byte{0xff, 1})}, "\xff\x01", "200 OK"},
		{"empty", abi.HTTPResponse{Status: 204}, "", "204 No Content"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := fromResponse(req, &fc.HTTPResponse{HTTPResponse: tc.resp})
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			if string(body) != tc.want || resp.StatusCode != tc.resp.Status || resp.ContentLength != int64(len(tc.want)) {
				t.Errorf("status %d, body %q, length %d", resp.StatusCode, body, resp.ContentLength)
			}
			if resp.Status != tc.line {
				t.Errorf("status line %q, want %q", resp.Status, tc.line)
			}
			for name, value := range tc.resp.Headers {
				if resp.Header.Get(name) != value {
					t.Errorf("header %s = %q, want %q", name, resp.Header.Get(name), value)
				}
			}
		})
	}
	if _, err := fromResponse(req, &fc.HTTPResponse{HTTPResponse: abi.HTTPResponse{Status: 200, BodyBase64: "not base64!"}}); err == nil {
		t.Error("a body that is not base64 must be an error")
	}
}

// Outside WebAssembly the host is a stand-in that refuses every request: the client
// returns that error instead of a response.
func TestClientOutsideTheHost(t *testing.T) {
	_, err := Client.Get("https://x.example/")
	if err == nil || !strings.Contains(err.Error(), "not running inside a futurecalls host") {
		t.Fatalf("err = %v", err)
	}
}
