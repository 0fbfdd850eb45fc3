// Package fchttp lets a futurecalls Go plugin use net/http's client: Transport sends each
// request through the host's fc.http, within the operator's grant for the plugin.
//
//	resp, err := fchttp.Client.Post(url, "application/json", body)
//
// It is a package of its own so that plugins which make no HTTP requests do not link
// net/http. The host follows redirects itself (each one checked against the grant), so
// the client sees the final response.
package fchttp

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	fc "github.com/futurecalls/futurecalls/sdk/go"
)

// Transport is an http.RoundTripper that makes requests with fc.HTTP. Its errors wrap a
// *fc.HostError: errors.Is(err, fc.ErrDenied) tells a URL the operator did not allow.
type Transport struct{}

// Client is an http.Client on Transport.
var Client = &http.Client{Transport: Transport{}}

// RoundTrip sends req through the host and returns its whole response.
func (Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	r, err := toRequest(req)
	if err != nil {
		return nil, err
	}
	resp, err := fc.HTTP(r)
	if err != nil {
		return nil, err
	}
	return fromResponse(req, resp)
}

// toRequest turns req into fc.http's document, consuming its body.
func toRequest(req *http.Request) (fc.HTTPRequest, error) {
	r := fc.HTTPRequest{Method: req.Method, URL: req.URL.String()}
	if len(req.Header) > 0 {
		r.Headers = make(map[string]string, len(req.Header))
		for name, values := range req.Header {
			r.Headers[name] = strings.Join(values, ", ")
		}
	}
	if req.Body != nil {
		body, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return r, fmt.Errorf("fchttp: read the request body: %w", err)
		}
		if utf8.Valid(body) {
			r.Body = string(body)
		} else {
			r.BodyBase64 = base64.StdEncoding.EncodeToString(body)
		}
	}
	return r, nil
}

// fromResponse turns fc.http's answer into an *http.Response to req.
func fromResponse(req *http.Request, resp *fc.HTTPResponse) (*http.Response, error) {
	body, err := resp.Bytes()
	if err != nil {
		return nil, fmt.Errorf("fchttp: the host's response body: %w", err)
	}
	header := make(http.Header, len(resp.Headers))
	for name, value := range resp.Headers {
		header.Set(name, value)
	}
	return &http.Response{
		Status:        strconv.Itoa(resp.Status) + " " + http.StatusText(resp.Status),
		StatusCode:    resp.Status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        header,
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}, nil
}
