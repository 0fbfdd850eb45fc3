// Package metrics defines the host's Prometheus metrics, shared by the API (which
// serves them on /metrics) and the executor. Labels are bounded: plugin and method
// names come from loaded plugins only, since calls to anything else are refused.
//
// Like every package under host/, this is the host's implementation, imported by
// cmd/host and, for measurement, by bench/; it is not a supported API and changes
// without notice. Plugins build on sdk/ and abi, clients on the REST API or sdk/client.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the host's metrics.
type Metrics struct {
	// Scheduled counts calls stored, by plugin, method and source ("api" or "plugin").
	Scheduled *prometheus.CounterVec
	// Cancelled counts calls cancelled through the API before they ran (source "api");
	// cancellations a plugin asks for are applied with its outcome and not counted.
	Cancelled *prometheus.CounterVec
	// Running is the number of calls running on this host, by plugin.
	Running *prometheus.GaugeVec
	// Outcomes counts finished attempts, by plugin, method and outcome.
	Outcomes *prometheus.CounterVec
	// Lateness observes how long after its run time a call started, by plugin.
	Lateness *prometheus.HistogramVec
	// Duration observes how long a call ran, by plugin and method.
	Duration *prometheus.HistogramVec
	// Claimed counts calls this host claimed.
	Claimed prometheus.Counter
	// Reaped counts expired claims of dead hosts this host recorded.
	Reaped prometheus.Counter
	// Reloads counts plugin module files handled by reloads, by result: added,
	// swapped, refused, failed, removed.
	Reloads *prometheus.CounterVec
	// PluginVersion is 1 for each loaded plugin and the version it runs.
	PluginVersion *prometheus.GaugeVec
	// HTTPRequests counts the plugins' outbound HTTP requests (fc.http), by plugin and
	// class: the response's status class (2xx …) or why it was refused (invalid,
	// denied, limit, error).
	HTTPRequests *prometheus.CounterVec
}

// New creates the metrics and registers them, with the Go and process collectors, on
// reg.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Scheduled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "futurecalls_scheduled_total", Help: "Calls stored, by plugin, method and source (api, plugin).",
		}, []string{"plugin", "method", "source"}),
		Cancelled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "futurecalls_cancelled_total", Help: "Calls cancelled through the API before they ran (source api).",
		}, []string{"source"}),
		Running: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "futurecalls_running", Help: "Calls running on this host, by plugin.",
		}, []string{"plugin"}),
		Outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "futurecalls_outcomes_total", Help: "Finished attempts, by plugin, method and outcome.",
		}, []string{"plugin", "method", "outcome"}),
		Lateness: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "futurecalls_lateness_seconds",
			Help:    "Time from a call's run time to its start, by plugin.",
			Buckets: []float64{.001, .0025, .005, .01, .02, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"plugin"}),
		Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "futurecalls_duration_seconds",
			Help:    "Time a call ran, by plugin and method.",
			Buckets: []float64{.0001, .0005, .001, .005, .01, .05, .1, .5, 1, 5, 10, 30, 60},
		}, []string{"plugin", "method"}),
		Claimed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "futurecalls_claimed_total", Help: "Calls claimed by this host.",
		}),
		Reaped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "futurecalls_reaped_total", Help: "Expired claims of other (dead) hosts recorded as interrupted or retried.",
		}),
		Reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "futurecalls_plugin_reloads_total", Help: "Plugin files handled by reloads, by result (added, swapped, refused, failed, removed).",
		}, []string{"result"}),
		PluginVersion: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "futurecalls_plugin_info", Help: "1 for each loaded plugin, labelled with the version it runs.",
		}, []string{"plugin", "version"}),
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "futurecalls_http_requests_total",
			Help: "Outbound HTTP requests of plugins (fc.http), by plugin and class: status class (2xx…) or refusal (invalid, denied, limit, error).",
		}, []string{"plugin", "class"}),
	}
	reg.MustRegister(m.Scheduled, m.Cancelled, m.Running, m.Outcomes, m.Lateness, m.Duration, m.Claimed, m.Reaped, m.HTTPRequests,
		m.Reloads, m.PluginVersion,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
