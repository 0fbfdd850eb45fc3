package api_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/api"
	"github.com/futurecalls/futurecalls/host/catalog"
	"github.com/futurecalls/futurecalls/host/internal/testplugins"
	"github.com/futurecalls/futurecalls/host/plugin"
)

// loadSubscribers serves the named test plugins only.
func loadSubscribers(b *testing.B, names ...string) func(*api.Options) {
	b.Helper()
	var files []string
	for _, n := range names {
		files = append(files, testplugins.Path(b, n))
	}
	reg, err := plugin.Load(ctx, plugin.Config{Dir: testplugins.DirWith(b, files...), CacheDir: testplugins.CacheDir(b)}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = reg.Close(ctx) })
	cat, err := catalog.New(reg, catalog.RetryPolicies{Default: abi.NoRetry})
	if err != nil {
		b.Fatal(err)
	}
	return func(o *api.Options) { o.Catalog, o.Plugins = cat, apiPlugins(reg) }
}

// BenchmarkPublish measures POST /v1/messages and /v1/messages/batch (100 messages a
// request) to "image.uploaded" with one subscriber (thumbs) and three (thumbs, probe,
// gallery), 16 clients at once, through the Go client. Baseline of the same run: POST
// /v1/calls and /v1/calls/batch scheduling thumbs.makeThumbnail with the same
// arguments. Each message's deliveries are due in an hour: nothing runs.
func BenchmarkPublish(b *testing.B) {
	payload := json.RawMessage(`{"imageId": 7, "path": "in/7.png"}`)
	for _, fanOut := range []struct {
		name    string
		plugins []string
	}{{"fanout1", []string{"thumbs"}}, {"fanout3", []string{"thumbs", "probe", "gallery"}}} {
		e := newEnv(b, loadSubscribers(b, fanOut.plugins...))
		for _, batch := range []int{1, 100} {
			b.Run(fmt.Sprintf("%s/messages/batch%d", fanOut.name, batch), func(b *testing.B) {
				reqs := make([]abi.PublishRequest, batch)
				for i := range reqs {
					reqs[i] = abi.PublishRequest{Topic: "image.uploaded", Payload: payload, Delay: "1h"}
				}
				b.SetParallelism(8)
				start := time.Now()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						var err error
						if batch == 1 {
							_, err = e.client.Publish(ctx, reqs[0])
						} else {
							_, err = e.client.PublishBatch(ctx, reqs)
						}
						if err != nil {
							b.Error(err)
							return
						}
					}
				})
				messages := float64(b.N * batch)
				b.ReportMetric(messages/time.Since(start).Seconds(), "messages/s")
				b.ReportMetric(messages*float64(len(fanOut.plugins))/time.Since(start).Seconds(), "deliveries/s")
			})
			if fanOut.name != "fanout1" {
				continue
			}
			b.Run(fmt.Sprintf("baseline/calls/batch%d", batch), func(b *testing.B) {
				reqs := make([]abi.ScheduleRequest, batch)
				for i := range reqs {
					reqs[i] = abi.ScheduleRequest{Plugin: "thumbs", Method: "makeThumbnail", Args: payload, Delay: "1h"}
				}
				b.SetParallelism(8)
				start := time.Now()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						var err error
						if batch == 1 {
							_, err = e.client.Schedule(ctx, reqs[0])
						} else {
							_, err = e.client.ScheduleBatch(ctx, reqs)
						}
						if err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N*batch)/time.Since(start).Seconds(), "calls/s")
			})
		}
	}
}
