package egress

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// Allow is a plugin's allow-list: the operator's sandbox.plugins.<name>.http.allow. The
// zero value allows nothing.
type Allow struct {
	rules []rule
}

// rule is one entry: a scheme, a host (a name, a glob "*.example" or an IP address) and
// a port (0: any).
type rule struct {
	entry  string
	scheme string
	host   string     // lower case, without the glob's "*."; empty when ip is set
	glob   bool       // host is a suffix: the entry was *.host
	ip     netip.Addr // the entry names this IP address
	port   int
}

// ParseAllow reads allow-list entries, "scheme://host[:port]" each (abi/README.md,
// http): scheme http or https, host a name, a glob whose leftmost label is "*", or an IP
// address (IPv6 in brackets), port a number or "*" (any), by default the scheme's. The
// error names every bad entry.
func ParseAllow(entries []string) (Allow, error) {
	var a Allow
	var errs []error
	for _, e := range entries {
		r, err := parseRule(e)
		if err != nil {
			errs = append(errs, fmt.Errorf("%q: %w", e, err))
			continue
		}
		a.rules = append(a.rules, r)
	}
	return a, errors.Join(errs...)
}

func parseRule(entry string) (rule, error) {
	scheme, rest, ok := strings.Cut(entry, "://")
	if !ok {
		return rule{}, errors.New("want scheme://host[:port], such as https://api.example.com")
	}
	r := rule{entry: entry, scheme: strings.ToLower(scheme)}
	if r.scheme != "http" && r.scheme != "https" {
		return rule{}, fmt.Errorf("scheme %q: want http or https", scheme)
	}
	if strings.ContainsAny(rest, "/?#@") {
		return rule{}, errors.New("an entry is scheme://host[:port] only: no path, query or user")
	}
	host, port := rest, ""
	if h, p, err := net.SplitHostPort(rest); err == nil {
		host, port = h, p
	} else if strings.HasPrefix(rest, "[") && strings.HasSuffix(rest, "]") {
		host = rest[1 : len(rest)-1]
	} else if strings.Contains(rest, ":") {
		return rule{}, fmt.Errorf("%v (write an IPv6 address in brackets)", err)
	}
	switch port {
	case "":
		r.port = defaultPort(r.scheme)
	case "*":
		r.port = 0
	default:
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return rule{}, fmt.Errorf("port %q: want 1 to 65535 or *", port)
		}
		r.port = n
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Zone() != "" {
			return rule{}, errors.New("an IPv6 zone is not allowed")
		}
		r.ip = ip.Unmap()
		return r, nil
	}
	host = strings.ToLower(host)
	if rest, ok := strings.CutPrefix(host, "*."); ok {
		r.glob, host = true, rest
	}
	if !validName(host) {
		return rule{}, fmt.Errorf("host %q: want a DNS name, *.name, or an IP address", host)
	}
	r.host = host
	return r, nil
}

// validName reports whether s is a DNS name of letters, digits, hyphens and
// underscores, with at least one label.
func validName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

func defaultPort(scheme string) int {
	if scheme == "https" {
		return 443
	}
	return 80
}

// Entries returns the entries as the operator wrote them.
func (a Allow) Entries() []string {
	out := make([]string, len(a.rules))
	for i, r := range a.rules {
		out[i] = r.entry
	}
	return out
}

// Allows reports whether a request to u may be made: whether an entry matches its
// scheme, host and port. It says nothing of the addresses the host resolves to, which
// the client checks when it connects.
func (a Allow) Allows(u *url.URL) bool {
	scheme := strings.ToLower(u.Scheme)
	port := defaultPort(scheme)
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			return false
		}
		port = n
	}
	return a.match(scheme, u.Hostname(), port)
}

func (a Allow) match(scheme, host string, port int) bool {
	ip, err := netip.ParseAddr(host)
	isIP := err == nil && ip.Zone() == ""
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, r := range a.rules {
		if r.scheme != scheme || (r.port != 0 && r.port != port) {
			continue
		}
		switch {
		case r.ip.IsValid():
			if isIP && r.ip == ip.Unmap() {
				return true
			}
		case isIP:
		case r.glob:
			if strings.HasSuffix(host, "."+r.host) {
				return true
			}
		case host == r.host:
			return true
		}
	}
	return false
}

// namesIP reports whether an entry names the IP address of addr ("ip:port")
// literally, with its port: the one way an internal address is allowed.
func (a Allow) namesIP(addr string) bool {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return false
	}
	ip := ap.Addr().Unmap()
	for _, r := range a.rules {
		if r.ip.IsValid() && r.ip == ip && (r.port == 0 || r.port == int(ap.Port())) {
			return true
		}
	}
	return false
}
