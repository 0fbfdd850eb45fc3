// Package egress makes the outbound HTTP requests of plugins (fc.http, abi/README.md),
// within what the operator allows: an allow-list of scheme://host[:port] entries per
// plugin ([Allow]) and, whatever the list says, no connection to an internal address
// unless an entry names that address.
//
// The address check happens at dial time, on the address the connection is about to
// be made to, after DNS resolution: a name that resolves (or re-resolves, DNS
// rebinding) to loopback, a private network, link-local (cloud metadata at
// 169.254.169.254), carrier-grade NAT or any other special-purpose range cannot get
// through. The ranges are those of IANA's special-purpose registries, kept by
// code.dny.dev/ssrf, whose Guardian is the dialer's Control function. An entry that
// names an IP address literally (http://127.0.0.1:8025) is the one exception: a
// request to that very address is dialled without the Guardian, so an operator can
// grant a plugin a service on the host's own network on purpose.
//
// Like every package under host/, this is the host's implementation; it is not a
// supported API and changes without notice.
package egress

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"time"

	"code.dny.dev/ssrf"
)

// MaxRedirects is how many redirects a request follows, each checked like the first.
const MaxRedirects = 10

// maxHeaderBytes caps the response headers a server may send.
const maxHeaderBytes = 64 << 10

// ErrDenied marks a request the grant does not allow: a URL outside the allow-list, an
// internal address after DNS, or a redirect to either. fc.http returns -5.
var ErrDenied = errors.New("denied")

// ErrTooLarge marks a response whose body exceeds the limit. fc.http returns -2.
var ErrTooLarge = errors.New("response too large")

// DeniedError says why a request was denied; it wraps ErrDenied.
type DeniedError struct {
	// URL is the request's URL without its query: where the request (or a redirect)
	// was going.
	URL string
	// Reason is what refused it.
	Reason string
}

func (e *DeniedError) Error() string { return e.URL + ": " + e.Reason }

// Unwrap makes the error match ErrDenied.
func (e *DeniedError) Unwrap() error { return ErrDenied }

// Client makes the requests of one plugin. It is safe for concurrent use and keeps
// idle connections between requests.
type Client struct {
	allow  Allow
	client *http.Client
}

// New returns a client that may reach what allow allows.
func New(allow Allow) *Client {
	c := &Client{allow: allow}
	guardian := ssrf.New(ssrf.WithAnyPort())
	// Control sees each address the dialer is about to connect to, resolved.
	guarded := &net.Dialer{Timeout: 30 * time.Second, Control: func(network, address string, conn syscall.RawConn) error {
		if err := guardian.Safe(network, address, conn); err != nil {
			return &addressError{addr: address, err: err}
		}
		return nil
	}}
	literal := &net.Dialer{Timeout: 30 * time.Second}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		if allow.namesIP(addr) {
			return literal.DialContext(ctx, network, addr)
		}
		return guarded.DialContext(ctx, network, addr)
	}
	transport := &http.Transport{
		Proxy:                  nil, // a proxy would be dialled instead of the checked address
		DialContext:            dial,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12}, // system roots
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    10 * time.Second,
		MaxIdleConns:           32,
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: maxHeaderBytes,
	}
	c.client = &http.Client{Transport: transport, CheckRedirect: c.checkRedirect}
	return c
}

// addressError is an address the Guardian refused at dial time.
type addressError struct {
	addr string // ip:port
	err  error
}

func (e *addressError) Error() string { return e.err.Error() }
func (e *addressError) Unwrap() error { return e.err }

func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > MaxRedirects {
		return fmt.Errorf("more than %d redirects", MaxRedirects)
	}
	if !c.allow.Allows(req.URL) {
		return &DeniedError{URL: Redact(req.URL), Reason: "redirected to a URL the plugin's http.allow does not allow"}
	}
	return nil
}

// Response is a response read whole.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do sends req, following redirects, and reads at most limit bytes of the response
// body. A denial wraps ErrDenied (a *DeniedError), a body beyond limit ErrTooLarge (the
// connection is then closed, not drained); other errors are the network's, or the
// context's.
func (c *Client) Do(req *http.Request, limit int64) (*Response, error) {
	if !c.allow.Allows(req.URL) {
		return nil, &DeniedError{URL: Redact(req.URL), Reason: "not allowed by the plugin's http.allow"}
	}
	resp, err := c.client.Do(req)
	if err != nil {
		var denied *DeniedError
		var refused *addressError
		switch {
		case errors.As(err, &denied):
			return nil, denied
		case errors.As(err, &refused):
			where := req.URL
			var uerr *url.Error
			if errors.As(err, &uerr) {
				if u, perr := url.Parse(uerr.URL); perr == nil {
					where = u
				}
			}
			return nil, &DeniedError{URL: Redact(where), Reason: fmt.Sprintf("the host resolves to %s, an internal address "+
				"(only an http.allow entry naming that IP address allows it)", refused.addr)}
		}
		return nil, netError(err)
	}
	defer resp.Body.Close()
	if resp.ContentLength > limit {
		return nil, fmt.Errorf("%w: the body is %d bytes, more than the limit of %d", ErrTooLarge, resp.ContentLength, limit)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, netError(err)
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("%w: the body is more than the limit of %d bytes", ErrTooLarge, limit)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: body}, nil
}

// netError drops the *url.Error framing, which repeats the URL with its query.
func netError(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return uerr.Err
	}
	return err
}

// CloseIdle closes the client's idle connections.
func (c *Client) CloseIdle() { c.client.CloseIdleConnections() }

// Redact writes u without its user information, query and fragment, which may hold
// secrets: what logs and error messages may show of a URL.
func Redact(u *url.URL) string {
	v := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	return v.String()
}
