package plugin

import (
	"context"
	"strings"

	"github.com/tetratelabs/wazero/api"

	"github.com/futurecalls/futurecalls/abi"
)

// maxConfigKey caps the key an fc.config refusal quotes.
const maxConfigKey = 256

// hostConfig is fc.config: it leaves the value the operator set under the guest's key
// (sandbox.plugins.<name>.config, secrets resolved) for fc.result, or answers -4.
func hostConfig(ctx context.Context, mod api.Module, stack []uint64) {
	c := callFrom(ctx)
	if c == nil {
		stack[0] = api.EncodeI64(abi.ScheduleHostError)
		return
	}
	defer guard(c, abi.HostConfig, stack, true)
	c.result = nil
	key, ok := mod.Memory().Read(uint32(stack[0]), uint32(stack[1]))
	switch {
	case !ok:
		stack[0] = c.refuse(abi.ScheduleInvalid, "the key is outside memory")
		return
	case c.grant == nil:
		stack[0] = c.refuse(abi.ScheduleHostError, "not available")
		return
	}
	value, ok := c.grant.Config[string(key)]
	if !ok {
		quoted := strings.ToValidUTF8(string(key[:min(len(key), maxConfigKey)]), "\uFFFD")
		stack[0] = c.refuse(abi.NotFound, "plugin %s has no configuration value %q (sandbox.plugins.%s.config)", c.name, quoted, c.name)
		return
	}
	stack[0] = c.produce([]byte(value))
}
