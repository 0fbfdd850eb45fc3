package check_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/abi/signature"
	"github.com/futurecalls/futurecalls/host/internal/testdb"
	"github.com/futurecalls/futurecalls/host/request"
)

func TestMain(m *testing.M) { testdb.Main(m) }

var ctx = context.Background()

// catalog is a set of loaded plugins' signatures, compiled for real: plugin → method.
type catalog map[string]map[string]*signature.Method

func (c catalog) Method(plugin, method string) (*signature.Method, abi.Retry, error) {
	methods, ok := c[plugin]
	if !ok {
		return nil, abi.Retry{}, fmt.Errorf("%w %q", request.ErrUnknownPlugin, plugin)
	}
	m, ok := methods[method]
	if !ok {
		return nil, abi.Retry{}, fmt.Errorf("%w %q of plugin %q", request.ErrUnknownMethod, method, plugin)
	}
	return m, abi.NoRetry, nil
}

// compile compiles the methods of each plugin into a catalog.
func compile(tb testing.TB, plugins map[string][]abi.Method) catalog {
	tb.Helper()
	c := catalog{}
	for plugin, defs := range plugins {
		c[plugin] = map[string]*signature.Method{}
		for _, def := range defs {
			m, err := signature.Compile(def)
			if err != nil {
				tb.Fatalf("compile %s.%s: %v", plugin, def.Name, err)
			}
			c[plugin][def.Name] = m
		}
	}
	return c
}
