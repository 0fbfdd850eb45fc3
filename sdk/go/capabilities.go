package fc

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/futurecalls/futurecalls/abi"
)

// Errors of the capabilities (HTTP, Config, the state functions), to test with
// errors.Is, next to ErrInvalid, ErrLimit and ErrHost.
var (
	// ErrNotFound: Config or StateGet found no value under the key.
	ErrNotFound = errors.New("not found")
	// ErrDenied: the operator's grant does not allow this HTTP request.
	ErrDenied = errors.New("denied")
)

// HTTPRequest is an outbound request made with HTTP: abi.HTTPRequest, the document of
// fc.http. Method defaults to GET; Body and BodyBase64 are exclusive.
type HTTPRequest = abi.HTTPRequest

// HTTPResponse is the answer to an HTTPRequest. Use Bytes for its body.
type HTTPResponse struct {
	abi.HTTPResponse
}

// Bytes returns the response's body, decoded when the host sent it as base64.
func (r *HTTPResponse) Bytes() ([]byte, error) {
	if r.BodyBase64 != "" {
		return base64.StdEncoding.DecodeString(r.BodyBase64)
	}
	return []byte(r.Body), nil
}

// HTTP makes an outbound HTTP request through the host and returns the whole response.
// Any status is a response (check Status); an error is a *HostError: ErrDenied when the
// operator did not allow the URL, ErrLimit beyond the per-call caps, ErrHost when the
// network failed, ErrInvalid for a malformed request. The host adds an Idempotency-Key
// header unless the request sets one (abi/README.md, http). For net/http's client, use
// the package sdk/go/fchttp.
func HTTP(r HTTPRequest) (*HTTPResponse, error) {
	data, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("fc.HTTP: encode request: %w", err)
	}
	doc, err := produced("http", host.http(data))
	if err != nil {
		return nil, err
	}
	resp := &HTTPResponse{}
	if err := json.Unmarshal(doc, &resp.HTTPResponse); err != nil {
		return nil, fmt.Errorf("fc.HTTP: decode response: %w", err)
	}
	return resp, nil
}

// Config returns the value the operator set for key in the plugin's configuration
// (sandbox.plugins.<name>.config), secrets included; the error wraps ErrNotFound when
// there is none.
func Config(key string) (string, error) {
	doc, err := produced("config", host.config(key))
	return string(doc), err
}

// StateGet returns the plugin's value under key, as committed plus this call's own
// writes; the error wraps ErrNotFound when there is none. Reading a key makes the call's
// writes conditional on it: if another call changes it before this one succeeds, this
// call fails with a state conflict and is retried by its policy (abi/README.md,
// state_get).
func StateGet(key string) ([]byte, error) {
	return produced("state_get", host.stateGet(key))
}

// StatePut sets the plugin's value under key. Like a follow-up, the write commits only
// if the call succeeds.
func StatePut(key string, value []byte) error {
	return refused("state_put", host.statePut(key, value))
}

// StateDelete deletes the plugin's value under key, if the call succeeds.
func StateDelete(key string) error {
	return refused("state_delete", host.stateDelete(key))
}

// GetJSON reads the value under key into v and reports whether there was one.
func GetJSON(key string, v any) (bool, error) {
	data, err := StateGet(key)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return true, fmt.Errorf("fc.GetJSON %q: %w", key, err)
	}
	return true, nil
}

// PutJSON writes v as JSON under key (see StatePut).
func PutJSON(key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("fc.PutJSON %q: %w", key, err)
	}
	return StatePut(key, data)
}

// produced reads the document a host function that returned n produced, or its refusal.
func produced(op string, n int64) ([]byte, error) {
	if err := refused(op, n); err != nil {
		return nil, err
	}
	return host.result(uint32(n)), nil
}

// refused is the *HostError of a host function that returned code, nil for a
// non-negative one.
func refused(op string, code int64) error {
	if code >= 0 {
		return nil
	}
	return &HostError{Op: op, Code: code, Message: host.lastError()}
}
