package app

import (
	"testing"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/api"
	"github.com/futurecalls/futurecalls/host/config"
	"github.com/futurecalls/futurecalls/host/plugin"
	"github.com/futurecalls/futurecalls/host/store"
)

// TestConfigDefaultsAreThePartsDefaults: a host run on the default configuration
// passes each part the defaults that part documents, so `host config` shows what
// really applies.
func TestConfigDefaultsAreThePartsDefaults(t *testing.T) {
	t.Parallel()
	cfg := config.Default()
	if got, want := pluginLimits(cfg.Sandbox.Limits), plugin.DefaultLimits(); got != want {
		t.Errorf("sandbox limits = %+v, want plugin.DefaultLimits() %+v", got, want)
	}
	if got := retry(cfg.Sandbox.Retry); got != abi.NoRetry {
		t.Errorf("sandbox.retry = %+v, want abi.NoRetry %+v", got, abi.NoRetry)
	}
	if got := int64(cfg.API.BodyLimit); got != api.DefaultBodyLimit {
		t.Errorf("api.bodyLimit = %d, want api.DefaultBodyLimit %d", got, api.DefaultBodyLimit)
	}
	if got := int64(cfg.API.PageBytes); got != store.DefaultPageBytes {
		t.Errorf("api.pageBytes = %d, want store.DefaultPageBytes %d", got, store.DefaultPageBytes)
	}
}
