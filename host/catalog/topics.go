package catalog

import (
	"github.com/futurecalls/futurecalls/host/request"
)

// Subscribers lists the subscriptions to topic of the loaded plugins, in the order of
// the plugins' names, then of their manifests ([request.Topics]). It reads the
// registry's plugins on every call, so the subscriptions are those of the plugins
// loaded now.
func (c *Catalog) Subscribers(topic string) []request.Subscriber {
	var subs []request.Subscriber
	for _, p := range c.reg.Plugins() {
		for _, s := range p.Manifest.Subscriptions {
			if s.Topic == topic {
				subs = append(subs, request.Subscriber{Plugin: p.Name, Method: s.Call})
			}
		}
	}
	return subs
}
