package plugin

import (
	"bytes"
	"context"
	"errors"

	"github.com/futurecalls/futurecalls/abi"
)

// Publisher is what a HostCalls offers for fc.publish. A HostCalls without it makes
// fc.publish return -3, "not available".
type Publisher interface {
	// Publish takes the raw JSON of an [abi.PublishRequest] made by the guest, checks
	// it against the signature of every call subscribed to its topic, keeps it for when
	// the call succeeds, and returns the number of deliveries. Errors map as for
	// HostCalls.Schedule.
	Publish(ctx context.Context, request []byte) (int64, error)
}

// hostPublish is fc.publish: it hands the guest's JSON request to the Publisher, within
// the limits fc.schedule and fc.cancel count against (hostRequest).
var hostPublish = hostRequest(abi.HostPublish, "request", func(c *call, data []byte) (int64, error) {
	p, ok := c.host.(Publisher)
	if !ok {
		return 0, errors.New("not available")
	}
	return p.Publish(c.ctx, bytes.Clone(data))
})
