package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration written with a unit ("30s", "1h30m"). A bare number is
// refused rather than read as nanoseconds.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "0" {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration with a unit, such as 30s or 1h30m", s)
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes d as a Go duration string without zero trailing units: "1h", not
// "1h0m0s".
func (d Duration) MarshalText() ([]byte, error) {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return []byte(s), nil
}

// ByteSize is a size in bytes, written as a number or with a binary unit ("64MiB",
// "512KiB", "1GiB"; "K", "M", "G", "KB", "MB", "GB" are read as binary units too).
type ByteSize uint64

var byteUnits = []struct {
	suffix string
	factor uint64
}{
	{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30},
	{"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30},
	{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30},
	{"B", 1},
}

// UnmarshalText parses a size.
func (b *ByteSize) UnmarshalText(text []byte) error {
	s := strings.ToUpper(strings.TrimSpace(string(text)))
	factor := uint64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(s, u.suffix) {
			s, factor = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.factor
			break
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n > (1<<62)/factor {
		return fmt.Errorf("%q is not a size, such as 65536, 64KiB or 64MiB", string(text))
	}
	*b = ByteSize(n * factor)
	return nil
}

// MarshalText writes b with the largest binary unit that divides it.
func (b ByteSize) MarshalText() ([]byte, error) {
	for _, u := range []struct {
		suffix string
		factor uint64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if b != 0 && uint64(b)%u.factor == 0 {
			return []byte(strconv.FormatUint(uint64(b)/u.factor, 10) + u.suffix), nil
		}
	}
	return []byte(strconv.FormatUint(uint64(b), 10)), nil
}
