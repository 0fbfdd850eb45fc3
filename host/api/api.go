// Package api is the host's REST API: schedule future calls (Serverpod's callWithDelay
// and callAtTime), cancel them by id or by identifier, list waiting calls and the
// history of finished ones, and describe the loaded plugins — in JSON, with an OpenAPI
// 3.1 document in which every plugin method's arguments are their own schema, so that
// any OpenAPI generator yields a typed client.
//
// Every error answer has the shape {"error": {"code", "message", …}} of
// errorBody, with the codes of the client package. A request that fails stores
// nothing. Database calls run under a per-request timeout, and a database that is down
// or too slow is answered with 503, never with a hang.
//
// Routes under /v1, /openapi.json and /metrics need a bearer token when tokens are
// configured; /healthz and /readyz never do. Without tokens the API serves only
// loopback host names (a defence against DNS rebinding) and [API.Serve] refuses a listener
// that other machines can reach. README.md in this directory walks through the API
// with curl.
//
// Like every package under host/, this is the host's implementation, imported by
// cmd/host and, for measurement, by bench/; it is not a supported API and changes
// without notice. Plugins build on sdk/ and abi, clients on the REST API or sdk/client.
package api

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/metrics"
	"github.com/futurecalls/futurecalls/host/request"
	"github.com/futurecalls/futurecalls/host/store"
	"github.com/futurecalls/futurecalls/sdk/client"
)

// Defaults of Options.
const (
	DefaultBodyLimit       = 1 << 20
	DefaultTimeout         = 10 * time.Second
	DefaultShutdownTimeout = 10 * time.Second
)

// MaxBatch bounds the calls of one POST /v1/calls/batch.
const MaxBatch = 1000

// Plugin describes a loaded plugin: what GET /v1/plugins shows and what the OpenAPI
// document is generated from.
type Plugin struct {
	Manifest abi.Manifest
	// File is the plugin's file; only its base name is shown.
	File string
	// LoadedAt is when the host loaded it; zero when unknown.
	LoadedAt time.Time
	// SHA256 is the hex SHA-256 of the file the running version was loaded from.
	SHA256 string
	// Refused is the latest new version a reload refused to swap in, if any.
	Refused *client.Candidate
}

// PluginSource tells the API which plugins are loaded now, when they change while the
// host runs (hot reload).
type PluginSource interface {
	// Plugins returns the loaded plugins and a generation that changes whenever they,
	// or their refused candidates, do.
	Plugins() (generation uint64, plugins []Plugin)
}

// Reloader reloads the plugins directory for POST /v1/plugins/reload.
type Reloader interface {
	Reload(ctx context.Context) (client.Reload, error)
}

// Options configure New. Store and Catalog are required.
type Options struct {
	Store *store.Store
	// Catalog resolves and validates the calls to schedule; when it is a
	// [request.Topics] too, it gives the subscriptions of messages (otherwise no topic
	// has subscribers).
	Catalog request.Catalog
	// Plugins are the loaded plugins, listed and described in the OpenAPI document,
	// when PluginSource is nil. They are read once, in New.
	Plugins []Plugin
	// PluginSource, when set, gives the loaded plugins instead of Plugins, as they
	// change.
	PluginSource PluginSource
	// Reloader, when set, serves POST /v1/plugins/reload; without it the route answers
	// 404.
	Reloader Reloader
	// Metrics are counted into (scheduled, cancelled) and Registry is served on
	// /metrics. When Metrics is nil, the API makes its own on a private registry.
	Metrics  *metrics.Metrics
	Registry prometheus.Gatherer
	Logger   *slog.Logger
	// Tokens are the accepted bearer tokens; none means no authentication, and then
	// only loopback clients are served.
	Tokens []string
	// BodyLimit caps a request body in bytes (DefaultBodyLimit when 0).
	BodyLimit int64
	// PageBytes caps the rows of one page of a listing (calls, history) in bytes: a
	// page ends early, with a nextCursor, once its rows reach it, so that one listing
	// costs the host a few times PageBytes of memory, whatever the table holds.
	// Defaults to [store.DefaultPageBytes].
	PageBytes int64
	// Host is this host's id, recorded in the history of the calls it cancels.
	Host string
	// Ready, when set, is asked by /readyz besides the database and the plugins: the
	// host is ready only when it returns nil.
	Ready func(context.Context) error
	// Dashboard, when set, serves GET / and everything under /ui/: the web pages that
	// show the schedule through this API (host/dashboard). Its pages need no token;
	// the data they fetch from /v1 does.
	Dashboard http.Handler
	// Timeout bounds the database work of one request (DefaultTimeout when 0).
	Timeout time.Duration
	// ShutdownTimeout bounds how long Serve waits for requests in flight when its
	// context ends (DefaultShutdownTimeout when 0).
	ShutdownTimeout time.Duration
}

// API serves the REST API. Create it with New.
type API struct {
	store     *store.Store
	catalog   request.Catalog
	topics    request.Topics
	metrics   *metrics.Metrics
	registry  prometheus.Gatherer
	log       *slog.Logger
	tokens    [][sha256.Size]byte
	bodyLimit int64
	pageBytes int64
	host      string
	ready     func(context.Context) error
	timeout   time.Duration
	shutdown  time.Duration
	echo      *echo.Echo
	dashboard http.Handler

	source   PluginSource
	reloader Reloader
	// mu guards the plugins as last described, of generation shown, and the OpenAPI
	// document generated from them (nil until asked for).
	mu         sync.Mutex
	shown      uint64
	plugins    []client.Plugin
	rawPlugins []Plugin
	openapi    []byte
}

// New returns the API. It panics when Store or Catalog is missing: that is a wiring
// mistake, not a runtime condition.
func New(opts Options) *API {
	if opts.Store == nil || opts.Catalog == nil {
		panic("api.New: Store and Catalog are required")
	}
	a := &API{
		store:     opts.Store,
		catalog:   opts.Catalog,
		metrics:   opts.Metrics,
		registry:  opts.Registry,
		log:       opts.Logger,
		bodyLimit: opts.BodyLimit,
		pageBytes: opts.PageBytes,
		host:      opts.Host,
		ready:     opts.Ready,
		timeout:   opts.Timeout,
		shutdown:  opts.ShutdownTimeout,
		dashboard: opts.Dashboard,
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	a.topics = noTopics{opts.Catalog}
	if t, ok := opts.Catalog.(request.Topics); ok {
		a.topics = t
	}
	if a.metrics == nil {
		reg := prometheus.NewRegistry()
		a.metrics, a.registry = metrics.New(reg), reg
	}
	if a.registry == nil {
		a.registry = prometheus.NewRegistry()
	}
	if a.bodyLimit <= 0 {
		a.bodyLimit = DefaultBodyLimit
	}
	if a.timeout <= 0 {
		a.timeout = DefaultTimeout
	}
	if a.shutdown <= 0 {
		a.shutdown = DefaultShutdownTimeout
	}
	for _, t := range opts.Tokens {
		a.tokens = append(a.tokens, sha256.Sum256([]byte(t)))
	}
	a.source, a.reloader = opts.PluginSource, opts.Reloader
	if a.source == nil {
		a.source = staticPlugins(append([]Plugin(nil), opts.Plugins...))
	}
	a.echo = a.routes()
	return a
}

func (a *API) routes() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = func(err error, c echo.Context) { a.writeError(c, err) }
	e.Pre(a.logRequests, a.recoverPanics, a.checkHost, a.authenticate)

	// Every GET route takes HEAD too (RFC 9110): the same answer, whose body the
	// server drops.
	get := func(path string, h echo.HandlerFunc) {
		e.GET(path, h)
		e.HEAD(path, h)
	}
	e.POST("/v1/calls", a.schedule)
	e.POST("/v1/calls/batch", a.scheduleBatch)
	e.POST("/v1/messages", a.publish)
	e.POST("/v1/messages/batch", a.publishBatch)
	get("/v1/messages/:id", a.getMessage)
	get("/v1/calls", a.list)
	e.DELETE("/v1/calls", a.cancelIdentifier)
	get("/v1/calls/:id", a.get)
	e.DELETE("/v1/calls/:id", a.cancel)
	get("/v1/history", a.history)
	get("/v1/stats", a.stats)
	get("/v1/plugins", a.listPlugins)
	get("/v1/plugins/:name", a.getPlugin)
	e.POST("/v1/plugins/reload", a.reload)
	get("/v1/plugins/:name/state", a.listState)
	get("/v1/plugins/:name/state/:key", a.getState)
	get("/healthz", a.healthz)
	get("/readyz", a.readyz)
	get("/metrics", echo.WrapHandler(promhttp.HandlerFor(a.registry, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(a.log.Handler(), slog.LevelError),
	})))
	get("/openapi.json", a.openAPI)
	if a.dashboard != nil {
		get("/", echo.WrapHandler(a.dashboard))
		get("/ui/*", echo.WrapHandler(a.dashboard))
	}
	return e
}

// Handler returns the API as an http.Handler.
func (a *API) Handler() http.Handler { return a.echo }

// Serve answers requests on ln until ctx ends, then shuts down gracefully: it stops
// accepting, lets requests in flight finish (for up to the shutdown timeout) and
// returns nil. It closes ln. Without tokens it refuses, with an error saying why, a
// listener other machines can reach.
func (a *API) Serve(ctx context.Context, ln net.Listener) error {
	if len(a.tokens) == 0 && !isLoopback(ln.Addr()) {
		ln.Close()
		return fmt.Errorf("api: refusing to serve on %s without tokens: other machines can reach it; set api.tokens or listen on 127.0.0.1", ln.Addr())
	}
	srv := &http.Server{
		Handler:           a.echo,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("api: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), a.shutdown)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	if err != nil {
		err = errors.Join(fmt.Errorf("api: shut down: %w", err), srv.Close())
	}
	if serveErr := <-served; !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, fmt.Errorf("api: %w", serveErr))
	}
	return err
}

// isLoopback reports whether only this machine can connect to addr.
func isLoopback(addr net.Addr) bool {
	switch a := addr.(type) {
	case *net.TCPAddr:
		return a.IP.IsLoopback()
	case *net.UnixAddr:
		return true
	}
	return false
}

// dbContext bounds the database work of a request.
func (a *API) dbContext(c echo.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.Request().Context(), a.timeout)
}
