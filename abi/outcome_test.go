package abi_test

import (
	"testing"

	"github.com/futurecalls/futurecalls/abi"
)

func TestOutcomeValid(t *testing.T) {
	for _, o := range abi.Outcomes() {
		if !o.Valid() {
			t.Errorf("%q is listed but not valid", o)
		}
	}
	for _, o := range []abi.Outcome{"", "exploded", "Succeeded", "timed out"} {
		if o.Valid() {
			t.Errorf("%q is valid", o)
		}
	}
}
