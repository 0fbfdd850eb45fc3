package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/futurecalls/futurecalls/abi"
)

// pluginsDir is where `make plugins` puts what it builds, seen from this package.
const pluginsDir = "../../plugins"

// built lists the plugins the examples of this repository must have built: a missing one
// fails the test rather than shrinking it.
var built = []string{
	"example", "drip", "kinds", "webhook",
	"example_as", "drip_as",
	"example_c", "drip_c",
	"example_rust", "drip_rust",
	"example_wat", "drip_wat",
}

// noKinds lists the example plugins without the kinds method: the hand-written WAT one,
// which has no SDK whose readers it would check, and Go's, whose kinds is the plugin
// "kinds" because the host's tests count the Go example's methods.
var noKinds = map[string]bool{"example_wat": true, "example": true}

// rawStrings lists the plugins that log JSON string arguments as they arrive, escapes
// and all, instead of decoding them: the hand-written WAT ones.
var rawStrings = map[string]bool{"example_wat": true, "drip_wat": true, "drip_rust": true, "drip_as": true}

const (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

// signature is a function's core type.
type signature struct{ params, results []api.ValueType }

// hostFuncs are the fc functions of abi/README.md, by name.
var hostFuncs = map[string]signature{
	abi.HostLog:         {[]api.ValueType{i32, i32, i32}, nil},
	abi.HostSchedule:    {[]api.ValueType{i32, i32}, []api.ValueType{i64}},
	abi.HostCancel:      {[]api.ValueType{i32, i32}, []api.ValueType{i64}},
	abi.HostLastError:   {[]api.ValueType{i32, i32}, []api.ValueType{i32}},
	abi.HostResult:      {[]api.ValueType{i32, i32}, []api.ValueType{i32}},
	abi.HostHTTP:        {[]api.ValueType{i32, i32}, []api.ValueType{i64}},
	abi.HostConfig:      {[]api.ValueType{i32, i32}, []api.ValueType{i64}},
	abi.HostStateGet:    {[]api.ValueType{i32, i32}, []api.ValueType{i64}},
	abi.HostStatePut:    {[]api.ValueType{i32, i32, i32, i32}, []api.ValueType{i64}},
	abi.HostStateDelete: {[]api.ValueType{i32, i32}, []api.ValueType{i64}},
}

// guestFuncs are the function exports of abi/README.md, by name; _initialize is optional.
var guestFuncs = map[string]signature{
	abi.ExportAlloc:      {[]api.ValueType{i32}, []api.ValueType{i32}},
	abi.ExportManifest:   {nil, []api.ValueType{i64}},
	abi.ExportInvoke:     {[]api.ValueType{i32, i32}, []api.ValueType{i64}},
	abi.ExportInitialize: {nil, nil},
}

var (
	pluginName = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_-]{0,63}$`)
	callName   = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]{0,63}$`)
)

func TestPlugins(t *testing.T) {
	for _, file := range pluginFiles(t) {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".wasm"), func(t *testing.T) {
			t.Parallel()
			p := load(t, file)
			switch {
			case p.kind("example"):
				checkExample(t, p)
			case p.kind("drip"):
				checkDrip(t, p)
			case p.kind("kinds"):
				checkKinds(t, p)
			}
			checkUnknownMethod(t, p)
		})
	}
}

// BenchmarkPlugins measures the guest's side of a doOtherWork call of each language's
// example plugin, with the stub host functions: on a fresh instance (instantiation,
// _initialize, the call) and on a warm one (the call alone). It reports the module's
// size too.
func BenchmarkPlugins(b *testing.B) {
	for _, file := range pluginFiles(b) {
		p := load(b, file)
		if !p.kind("example") {
			continue
		}
		env := envelope(b, p.name, "doOtherWork", json.RawMessage(`{"data":"1"}`))
		b.Run(p.name+"/fresh", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p.instantiate(b)
				if res := p.invoke(b, env); res.failed {
					b.Fatalf("doOtherWork failed: %q", res.failure)
				}
				p.mod.Close(context.Background())
			}
			b.ReportMetric(float64(p.size), "wasm-bytes")
		})
		b.Run(p.name+"/warm", func(b *testing.B) {
			p.instantiate(b)
			b.ReportAllocs()
			for b.Loop() {
				if res := p.invoke(b, env); res.failed {
					b.Fatalf("doOtherWork failed: %q", res.failure)
				}
			}
			b.ReportMetric(float64(p.size), "wasm-bytes")
		})
	}
}

// pluginFiles returns the plugins `make plugins` built, and fails unless every one of
// built is there.
func pluginFiles(tb testing.TB) []string {
	tb.Helper()
	for _, name := range built {
		if _, err := os.Stat(filepath.Join(pluginsDir, name+".wasm")); err != nil {
			tb.Fatalf("plugin %s is not built (%v): run make plugins", name, err)
		}
	}
	files, err := filepath.Glob(filepath.Join(pluginsDir, "*.wasm"))
	if err != nil {
		tb.Fatal(err)
	}
	return files
}

// plugin is one instance of a plugin module, with stub fc functions that record what it
// asks of the host.
type plugin struct {
	name string
	size int
	rt   wazero.Runtime
	cm   wazero.CompiledModule
	// output is what the plugin's instances wrote to stdout and stderr.
	output bytes.Buffer
	// mod is the current instance, and funcs the exports of it that were called.
	mod      api.Module
	funcs    map[string]api.Function
	manifest abi.Manifest
	// schemas holds the compiled schema of every parameter, by call and parameter name.
	schemas map[string]map[string]*jsonschema.Schema
	// events and faults are what the stub fc functions saw during the current call.
	events []event
	faults []string
	// refusal, when set, is why the stub fc.schedule refuses every request.
	refusal string
}

// event is one call the guest made to an fc function.
type event struct {
	fn    string
	level int32
	data  string // the log line, the schedule request or the cancelled identifier
}

// kind tells whether the plugin follows the convention of doc.go for kind: its name is
// kind itself or kind_<lang>.
func (p *plugin) kind(kind string) bool {
	return p.name == kind || strings.HasPrefix(p.name, kind+"_")
}

// load compiles file, checks its imports and exports, instantiates it as the host does
// and reads its manifest.
func load(tb testing.TB, file string) *plugin {
	tb.Helper()
	ctx := context.Background()
	bin, err := os.ReadFile(file)
	if err != nil {
		tb.Fatal(err)
	}
	p := &plugin{size: len(bin), rt: wazero.NewRuntime(ctx)}
	tb.Cleanup(func() { p.rt.Close(ctx) })
	if p.cm, err = p.rt.CompileModule(ctx, bin); err != nil {
		tb.Fatalf("compile: %v", err)
	}
	checkImports(tb, p.cm)
	checkExports(tb, p.cm)

	wasi_snapshot_preview1.MustInstantiate(ctx, p.rt)
	if err := p.instantiateHost(ctx); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if p.output.Len() > 0 {
			tb.Logf("stdout and stderr:\n%s", p.output.String())
		}
	})
	p.instantiate(tb)
	p.readManifest(tb)
	if want := strings.TrimSuffix(filepath.Base(file), ".wasm"); p.name != want {
		tb.Errorf("manifest names the plugin %q: want %q, the file's name", p.name, want)
	}
	return p
}

// instantiate makes a new current instance as the host does: it calls no start function
// but _initialize, when exported.
func (p *plugin) instantiate(tb testing.TB) {
	tb.Helper()
	cfg := wazero.NewModuleConfig().WithName("").WithStartFunctions().WithStdout(&p.output).WithStderr(&p.output)
	mod, err := p.rt.InstantiateModule(context.Background(), p.cm, cfg)
	if err != nil {
		tb.Fatalf("instantiate: %v", err)
	}
	p.mod, p.funcs = mod, map[string]api.Function{}
	if mod.ExportedFunction(abi.ExportInitialize) != nil {
		p.call(tb, abi.ExportInitialize)
	}
}

func checkImports(t testing.TB, cm wazero.CompiledModule) {
	t.Helper()
	for _, def := range cm.ImportedFunctions() {
		module, name, _ := def.Import()
		switch module {
		case abi.WASIModule:
		case abi.HostModule:
			want, ok := hostFuncs[name]
			if !ok {
				t.Errorf("imports %s.%s, which the ABI does not define", module, name)
				continue
			}
			if got := (signature{def.ParamTypes(), def.ResultTypes()}); !sameSignature(got, want) {
				t.Errorf("imports %s.%s as %s, want %s", module, name, got, want)
			}
		default:
			t.Errorf("imports %s.%s: only %s and %s may be imported", module, name, abi.HostModule, abi.WASIModule)
		}
	}
	for _, def := range cm.ImportedMemories() {
		module, name, _ := def.Import()
		t.Errorf("imports memory %s.%s: a plugin exports its own memory", module, name)
	}
}

func checkExports(t testing.TB, cm wazero.CompiledModule) {
	t.Helper()
	if _, ok := cm.ExportedMemories()[abi.ExportMemory]; !ok {
		t.Errorf("does not export its memory as %q", abi.ExportMemory)
	}
	exported := cm.ExportedFunctions()
	for name, want := range guestFuncs {
		def, ok := exported[name]
		switch {
		case !ok && name != abi.ExportInitialize:
			t.Errorf("does not export %s", name)
		case ok:
			if got := (signature{def.ParamTypes(), def.ResultTypes()}); !sameSignature(got, want) {
				t.Errorf("exports %s as %s, want %s", name, got, want)
			}
		}
	}
	if _, ok := exported["_start"]; ok {
		t.Errorf("exports _start, which the host never calls: build a reactor or a library")
	}
}

func sameSignature(a, b signature) bool {
	return bytes.Equal(a.params, b.params) && bytes.Equal(a.results, b.results)
}

func (s signature) String() string {
	names := func(types []api.ValueType) string {
		var parts []string
		for _, vt := range types {
			parts = append(parts, api.ValueTypeName(vt))
		}
		return "(" + strings.Join(parts, ", ") + ")"
	}
	return names(s.params) + " -> " + names(s.results)
}

// cancelled is how many calls the stub fc.cancel says carry the identifier.
const cancelled = 2

// instantiateHost instantiates the fc module with functions that record their arguments
// in p and accept every request, unless p.refusal is set: then schedule refuses with it.
// The capabilities are those of a host whose operator granted nothing: fc.config and
// fc.state_get find no value (so fc.result has no document), fc.http is denied, and
// fc.state_put and fc.state_delete accept.
func (p *plugin) instantiateHost(ctx context.Context) error {
	read := func(m api.Module, fn string, ptr, n uint32) (string, bool) {
		b, ok := m.Memory().Read(ptr, n)
		if !ok {
			p.faults = append(p.faults, fmt.Sprintf("%s(%d, %d) reads outside memory", fn, ptr, n))
		}
		return string(b), ok
	}
	// request records the string argument of fn, and returns ok unless refused says no.
	request := func(fn string, ok int64, refused func() bool) func(context.Context, api.Module, uint32, uint32) int64 {
		return func(_ context.Context, m api.Module, ptr, n uint32) int64 {
			data, inside := read(m, fn, ptr, n)
			if !inside || refused() {
				return abi.ScheduleInvalid
			}
			p.events = append(p.events, event{fn: fn, data: data})
			return ok
		}
	}
	never := func() bool { return false }
	_, err := p.rt.NewHostModuleBuilder(abi.HostModule).
		NewFunctionBuilder().WithFunc(func(_ context.Context, m api.Module, level int32, ptr, n uint32) {
		if line, ok := read(m, abi.HostLog, ptr, n); ok {
			p.events = append(p.events, event{fn: abi.HostLog, level: level, data: line})
		}
	}).Export(abi.HostLog).
		NewFunctionBuilder().WithFunc(request(abi.HostSchedule, abi.ScheduleOK, func() bool { return p.refusal != "" })).
		Export(abi.HostSchedule).
		NewFunctionBuilder().WithFunc(request(abi.HostCancel, cancelled, never)).Export(abi.HostCancel).
		NewFunctionBuilder().WithFunc(func(_ context.Context, m api.Module, ptr, size uint32) uint32 {
		p.events = append(p.events, event{fn: abi.HostLastError})
		msg := p.refusal[:min(len(p.refusal), int(size))]
		if !m.Memory().WriteString(ptr, msg) {
			p.faults = append(p.faults, fmt.Sprintf("%s(%d, %d) writes outside memory", abi.HostLastError, ptr, size))
		}
		return uint32(len(p.refusal))
	}).Export(abi.HostLastError).
		NewFunctionBuilder().WithFunc(func(uint32, uint32) uint32 { return 0 }).Export(abi.HostResult).
		NewFunctionBuilder().WithFunc(request(abi.HostHTTP, abi.Denied, never)).Export(abi.HostHTTP).
		NewFunctionBuilder().WithFunc(request(abi.HostConfig, abi.NotFound, never)).Export(abi.HostConfig).
		NewFunctionBuilder().WithFunc(request(abi.HostStateGet, abi.NotFound, never)).Export(abi.HostStateGet).
		NewFunctionBuilder().WithFunc(func(_ context.Context, m api.Module, kptr, klen, vptr, vlen uint32) int64 {
		key, okKey := read(m, abi.HostStatePut, kptr, klen)
		value, okValue := read(m, abi.HostStatePut, vptr, vlen)
		if !okKey || !okValue {
			return abi.ScheduleInvalid
		}
		p.events = append(p.events, event{fn: abi.HostStatePut, data: key + "=" + value})
		return 0
	}).Export(abi.HostStatePut).
		NewFunctionBuilder().WithFunc(request(abi.HostStateDelete, 0, never)).Export(abi.HostStateDelete).
		Instantiate(ctx)
	return err
}

// call calls an export of the current instance, and fails on a trap. It returns the
// export's result, if any.
func (p *plugin) call(t testing.TB, name string, params ...uint64) uint64 {
	t.Helper()
	fn, ok := p.funcs[name]
	if !ok {
		// Looked up once per instance: each api.Function carries its own stack.
		fn = p.mod.ExportedFunction(name)
		p.funcs[name] = fn
	}
	res, err := fn.Call(context.Background(), params...)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(res) == 0 {
		return 0
	}
	return res[0]
}

// read copies a packed pointer and length out of the guest's memory.
func (p *plugin) read(t testing.TB, what string, packed uint64) string {
	t.Helper()
	ptr, n := abi.Unpack(packed)
	b, ok := p.mod.Memory().Read(ptr, n)
	if !ok {
		t.Fatalf("%s: [%d, +%d) is outside memory", what, ptr, n)
	}
	return string(b)
}

func (p *plugin) readManifest(t testing.TB) {
	t.Helper()
	text := p.read(t, abi.ExportManifest, p.call(t, abi.ExportManifest))
	dec := json.NewDecoder(strings.NewReader(text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p.manifest); err != nil {
		t.Fatalf("manifest: %v\n%s", err, text)
	}
	m := p.manifest
	p.name = m.Name
	if m.ABI != abi.Version {
		t.Errorf("manifest: abi is %d, want %d", m.ABI, abi.Version)
	}
	if !pluginName.MatchString(m.Name) {
		t.Errorf("manifest: name %q does not match %s", m.Name, pluginName)
	}
	if m.Retry != nil {
		if _, err := m.Retry.Parse(); err != nil {
			t.Errorf("manifest: %v", err)
		}
	}
	p.schemas = map[string]map[string]*jsonschema.Schema{}
	for _, c := range m.Calls {
		if !callName.MatchString(c.Name) || p.schemas[c.Name] != nil {
			t.Errorf("manifest: call name %q is invalid or not unique", c.Name)
		}
		p.schemas[c.Name] = map[string]*jsonschema.Schema{}
		for _, prm := range c.Params {
			if !callName.MatchString(prm.Name) || p.schemas[c.Name][prm.Name] != nil {
				t.Errorf("manifest: %s: parameter name %q is invalid or not unique", c.Name, prm.Name)
			}
			sch, err := compileSchema(prm.Schema)
			if err != nil {
				t.Errorf("manifest: %s.%s: %v", c.Name, prm.Name, err)
				continue
			}
			p.schemas[c.Name][prm.Name] = sch
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

func compileSchema(raw json.RawMessage) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(jsonschema.SchemeURLLoader{}) // remote references are refused
	const url = "urn:futurecalls:param"
	if err := c.AddResource(url, doc); err != nil {
		return nil, err
	}
	return c.Compile(url)
}

// checkArgs checks args against the signature of method as the host does before it
// schedules or runs a call.
func (p *plugin) checkArgs(t *testing.T, method string, args json.RawMessage) {
	t.Helper()
	c := p.method(t, method)
	var values map[string]json.RawMessage
	if err := json.Unmarshal(args, &values); err != nil {
		t.Fatalf("%s arguments %s: %v", method, args, err)
	}
	for _, prm := range c.Params {
		v, ok := values[prm.Name]
		if !ok {
			if !prm.Optional {
				t.Errorf("%s arguments %s: %s is missing", method, args, prm.Name)
			}
			continue
		}
		delete(values, prm.Name)
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(v))
		if err == nil {
			err = p.schemas[method][prm.Name].Validate(inst)
		}
		if err != nil {
			t.Errorf("%s arguments %s: %s: %v", method, args, prm.Name, err)
		}
	}
	for name := range values {
		t.Errorf("%s arguments %s: %s is not a parameter", method, args, name)
	}
}

// method returns the manifest's call named name.
func (p *plugin) method(t *testing.T, name string) abi.Method {
	t.Helper()
	for _, c := range p.manifest.Calls {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("manifest declares no call %q", name)
	return abi.Method{}
}

// wantMethod checks that the manifest declares the call name with exactly params.
func (p *plugin) wantMethod(t *testing.T, name string, params ...abi.Param) {
	t.Helper()
	got := p.method(t, name).Params
	if len(got) != len(params) {
		t.Fatalf("%s has %d parameters, want %d", name, len(got), len(params))
	}
	for i, want := range params {
		g := got[i]
		if g.Name != want.Name || g.Optional != want.Optional || !sameJSON(g.Schema, want.Schema) {
			t.Errorf("%s parameter %d is {%s %s optional=%t}, want {%s %s optional=%t}",
				name, i, g.Name, g.Schema, g.Optional, want.Name, want.Schema, want.Optional)
		}
	}
}

// sameValues tells whether two JSON documents hold the same values, numbers compared
// exactly (so an integer beyond 2^53 must come back whole).
func sameValues(a, b []byte) bool {
	decode := func(data []byte) (any, bool) {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var v any
		return v, dec.Decode(&v) == nil
	}
	x, okx := decode(a)
	y, oky := decode(b)
	return okx && oky && reflect.DeepEqual(x, y)
}

func sameJSON(a, b []byte) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}

// result is what one fc_invoke did.
type result struct {
	failure string // the error message, when it failed
	failed  bool
	events  []event
}

// invoke runs one call as the host does: fc_alloc, the envelope written at the pointer it
// returned, fc_invoke.
func (p *plugin) invoke(t testing.TB, envelope []byte) result {
	t.Helper()
	p.events, p.faults = nil, nil
	ptr := uint32(p.call(t, abi.ExportAlloc, uint64(len(envelope))))
	if ptr == 0 {
		t.Fatalf("%s(%d) returned 0", abi.ExportAlloc, len(envelope))
	}
	if !p.mod.Memory().Write(ptr, envelope) {
		t.Fatalf("%s(%d) returned %d, which is not inside memory", abi.ExportAlloc, len(envelope), ptr)
	}
	res := result{}
	if packed := p.call(t, abi.ExportInvoke, uint64(ptr), uint64(len(envelope))); packed != 0 {
		res.failed, res.failure = true, p.read(t, "error message", packed)
	}
	for _, f := range p.faults {
		t.Error(f)
	}
	res.events = p.events
	return res
}

// succeed invokes method with args, which must fit its signature, and wants success.
func (p *plugin) succeed(t *testing.T, method string, args any) result {
	t.Helper()
	raw, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	p.checkArgs(t, method, raw)
	res := p.invoke(t, envelope(t, p.name, method, raw))
	if res.failed {
		t.Fatalf("%s(%s) failed: %q", method, raw, res.failure)
	}
	return res
}

// envelope is what the host passes to fc_invoke for a call of method with args.
func envelope(t testing.TB, plugin, method string, args json.RawMessage) []byte {
	t.Helper()
	b, err := json.Marshal(abi.Envelope{Method: method, Args: args, Call: abi.CallInfo{
		ID:          4711,
		Plugin:      plugin,
		ScheduledAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		Identifier:  "conformance",
		Attempt:     1,
		MaxAttempts: 1,
	}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantLog checks that a call logged a line containing text, as the envelope spelt it
// for the plugins that log strings undecoded.
func (p *plugin) wantLog(t *testing.T, res result, method, text string) {
	t.Helper()
	if rawStrings[p.name] {
		quoted, _ := json.Marshal(text)
		text = string(quoted[1 : len(quoted)-1])
	}
	wantLine(t, res, method, text)
}

// wantLine checks that a call logged a line containing text.
func wantLine(t *testing.T, res result, method, text string) {
	t.Helper()
	var lines []string
	for _, e := range res.events {
		if e.fn == abi.HostLog {
			if strings.Contains(e.data, text) {
				return
			}
			lines = append(lines, e.data)
		}
	}
	t.Errorf("%s logged no line containing %.80q; lines: %.200q", method, text, lines)
}

func checkExample(t *testing.T, p *plugin) {
	p.wantMethod(t, "doWork")
	p.wantMethod(t, "doOtherWork", abi.Param{Name: "data", Schema: json.RawMessage(`{"type":"string"}`)})

	p.wantLog(t, p.succeed(t, "doWork", map[string]any{}), "doWork", "doWork")
	// One instance serves every call, as a warm pool does: a large envelope, then small
	// ones, checks that the guest's buffers are reused correctly.
	for _, data := range []string{
		"1",
		strings.Repeat("large ", 50000),
		"tab\t, quote \", backslash \\, é, ✓, 𝄞, <a&b>, \u2028",
		"",
	} {
		p.wantLog(t, p.succeed(t, "doOtherWork", map[string]string{"data": data}), "doOtherWork", data)
	}

	if !noKinds[p.name] {
		checkKinds(t, p)
	}

	// Unknown fields, another key order and white space: a guest must cope with all.
	quirky := `{ "call" : {"id": 1, "plugin": "x", "scheduledAt": "2026-01-01T00:00:00Z",
		"attempt": 1, "maxAttempts": 1, "future": [1, {"method": "no", "args": "{"}]},
		"args" : { "data" : "quirky \"}\" \u00e9\ud834\udd1e" } , "method" : "doOtherWork" }`
	res := p.invoke(t, []byte(quirky))
	if res.failed {
		t.Fatalf("doOtherWork with a reordered envelope failed: %q", res.failure)
	}
	if rawStrings[p.name] {
		wantLine(t, res, "doOtherWork", `quirky \"}\" \u00e9\ud834\udd1e`)
	} else {
		wantLine(t, res, "doOtherWork", `quirky "}" é𝄞`)
	}
}

// kindsParams is the signature of the example plugins' kinds method: a parameter of every
// JSON kind, each with a value its schema must accept and one of another kind it must
// refuse. Schemas are compared by what they accept, not as text: a Go slice, say, also
// allows null.
var kindsParams = []struct {
	name          string
	optional      bool
	good, refused string
}{
	{"text", false, `"a"`, `1`},
	{"count", false, `-7`, `1.5`},
	{"ratio", false, `0.5`, `"0.5"`},
	{"flag", false, `false`, `"false"`},
	{"tags", false, `["a"]`, `[1]`},
	{"point", false, `{"x": 1, "y": 2}`, `{"x": 1, "y": 2, "z": 3}`},
	{"note", true, `"n"`, `{}`},
}

// checkKinds calls kinds with a value of every JSON kind, and wants the canonical line of
// doc.go: what the plugin read, as every language reads it.
func checkKinds(t *testing.T, p *plugin) {
	params := p.method(t, "kinds").Params
	if len(params) != len(kindsParams) {
		t.Fatalf("kinds has %d parameters, want %d", len(params), len(kindsParams))
	}
	for i, want := range kindsParams {
		if params[i].Name != want.name || params[i].Optional != want.optional {
			t.Fatalf("kinds parameter %d is %s (optional=%t), want %s (optional=%t)",
				i, params[i].Name, params[i].Optional, want.name, want.optional)
		}
		schema := p.schemas["kinds"][want.name]
		for value, valid := range map[string]bool{want.good: true, want.refused: false} {
			inst, err := jsonschema.UnmarshalJSON(strings.NewReader(value))
			if err != nil {
				t.Fatal(err)
			}
			if err := schema.Validate(inst); (err == nil) != valid {
				t.Errorf("kinds parameter %s %s: accepts %s is %t, want %t", want.name, params[i].Schema, value, err == nil, valid)
			}
		}
	}
	for _, c := range []struct {
		args string
		line string
	}{{
		`{"text": "é \"q\" 𝄞", "count": -9007199254740993, "ratio": 2.5, "flag": true,
		  "tags": ["a", "b,c", ""], "point": {"y": 2, "x": -1}, "note": "hi"}`,
		`kinds: text=é "q" 𝄞 count=-9007199254740993 ratio=2.5 flag=true tags=[a,b,c,] point={x:-1 y:2} note=hi`,
	}, {
		// No items, and the optional parameter left out.
		`{"text": "", "count": 3, "ratio": -0.125, "flag": false, "tags": [],
		  "point": {"x": 0, "y": 100}}`,
		`kinds: text= count=3 ratio=-0.125 flag=false tags=[] point={x:0 y:100} note=none`,
	}} {
		p.checkArgs(t, "kinds", json.RawMessage(c.args))
		res := p.invoke(t, envelope(t, p.name, "kinds", json.RawMessage(c.args)))
		if res.failed {
			t.Errorf("kinds(%s) failed: %q", c.args, res.failure)
			continue
		}
		var lines []string
		for _, e := range res.events {
			if e.fn == abi.HostLog {
				lines = append(lines, e.data)
			}
		}
		if len(lines) != 1 || lines[0] != c.line {
			t.Errorf("kinds(%s) logged %q, want exactly %q", c.args, lines, c.line)
		}
		calls := hostCalls(res)
		if len(calls) != 1 || calls[0].fn != abi.HostSchedule {
			t.Errorf("kinds(%s) made the host calls %q, want one schedule", c.args, calls)
			continue
		}
		var req abi.ScheduleRequest
		err := json.Unmarshal([]byte(calls[0].data), &req)
		if delay, derr := time.ParseDuration(req.Delay); err != nil || derr != nil || req.Method != "kinds" || delay != time.Hour {
			t.Errorf("kinds scheduled %s (%v): want kinds in 1h", calls[0].data, err)
			continue
		}
		p.checkArgs(t, "kinds", req.Args)
		if !sameValues(req.Args, json.RawMessage(c.args)) {
			t.Errorf("kinds(%s) scheduled kinds(%s): want the same values", c.args, req.Args)
		}
	}

	// Arguments the host would refuse (a required record left out) reach a guest only
	// when its manifest and code disagree: the call must fail with a message, not trap.
	partial := `{"text": "", "count": 1, "ratio": 1, "flag": true, "tags": []}`
	if res := p.invoke(t, envelope(t, p.name, "kinds", json.RawMessage(partial))); !res.failed || res.failure == "" || len(hostCalls(res)) > 0 {
		t.Errorf("kinds(%s) returned failed=%t, message %q, host calls %q: want a failure with a message and no host calls",
			partial, res.failed, res.failure, hostCalls(res))
	}

	// 3.0 and 1e2 are integers to JSON Schema, so the host lets them through; a guest
	// whose decoder takes integers only as digits may refuse them, but with a message.
	// 5e-1 is a number in any decoder.
	whole := `{"text": "", "count": 3.0, "ratio": 5e-1, "flag": true, "tags": ["x"], "point": {"x": 0, "y": 1e2}}`
	p.checkArgs(t, "kinds", json.RawMessage(whole))
	res := p.invoke(t, envelope(t, p.name, "kinds", json.RawMessage(whole)))
	t.Logf("kinds with integers written 3.0 and 1e2: failed=%t, message %q", res.failed, res.failure)
	const wholeLine = `kinds: text= count=3 ratio=0.5 flag=true tags=[x] point={x:0 y:100} note=none`
	if res.failed && res.failure == "" || !res.failed && (len(res.events) == 0 || res.events[0].data != wholeLine) {
		t.Errorf("kinds(%s) returned failed=%t, message %q, events %q: want %q logged, or a failure with a message",
			whole, res.failed, res.failure, res.events, wholeLine)
	}
}

// signup is the record parameter of the drip plugins.
type signup struct {
	UserID int64  `json:"userId"`
	Email  string `json:"email"`
	Plan   string `json:"plan"`
}

const signupSchema = `{"type": "object",
	"properties": {"userId": {"type": "integer"}, "email": {"type": "string"},
		"plan": {"type": "string", "enum": ["free", "pro"]}},
	"required": ["userId", "email", "plan"], "additionalProperties": false}`

func checkDrip(t *testing.T, p *plugin) {
	p.wantMethod(t, "welcome",
		abi.Param{Name: "signup", Schema: json.RawMessage(signupSchema)},
		abi.Param{Name: "note", Schema: json.RawMessage(`{"type":"string"}`), Optional: true})
	p.wantMethod(t, "followUp", abi.Param{Name: "signup", Schema: json.RawMessage(signupSchema)})
	p.wantMethod(t, "unsubscribe", abi.Param{Name: "userId", Schema: json.RawMessage(`{"type":"integer"}`)})
	ada := signup{UserID: 42, Email: "ada@example.com", Plan: "pro"}
	res := p.succeed(t, "welcome", map[string]any{"signup": ada})
	p.wantLog(t, res, "welcome", ada.Email)
	p.wantFollowUp(t, res, ada)

	bob := signup{UserID: 1 << 40, Email: "bob@example.com", Plan: "free"}
	res = p.succeed(t, "welcome", map[string]any{"signup": bob, "note": "came from the conformance test"})
	p.wantLog(t, res, "welcome", "came from the conformance test")
	p.wantFollowUp(t, res, bob)

	checkMailer(t, p, ada, bob)

	// A refused follow-up fails welcome with the host's reason, read with fc.last_error.
	p.refusal = "plugin drip is being replaced: try again"
	res = p.invoke(t, envelope(t, p.name, "welcome", json.RawMessage(`{"signup": {"userId": 7, "email": "eve@example.com", "plan": "free"}}`)))
	p.refusal = ""
	if !res.failed || !strings.Contains(res.failure, "plugin drip is being replaced: try again") {
		t.Errorf("welcome with its follow-up refused returned failed=%t, message %q: want a failure with the host's reason",
			res.failed, res.failure)
	}

	// 2^100 is an integer to the schema, but no 64-bit type holds it: the guest must fail
	// the call with a message, or use the number exactly (the WAT plugins keep its digits
	// as text); never trap, nor act on a number that wrapped around.
	const huge = `1267650600228229401496703205376`
	p.checkArgs(t, "unsubscribe", json.RawMessage(`{"userId": `+huge+`}`))
	res = p.invoke(t, envelope(t, p.name, "unsubscribe", json.RawMessage(`{"userId": `+huge+`}`)))
	calls := hostCalls(res)
	t.Logf("unsubscribe of user %s: failed=%t, message %q", huge, res.failed, res.failure)
	exact := len(calls) == 1 && calls[0].fn == abi.HostCancel && calls[0].data == "drip-user-"+huge
	if res.failed && (res.failure == "" || len(calls) > 0) || !res.failed && !exact {
		t.Errorf("unsubscribe of user %s returned failed=%t, message %q, host calls %q: want a failure with a message and no host calls",
			huge, res.failed, res.failure, calls)
	}

	res = p.succeed(t, "unsubscribe", map[string]any{"userId": ada.UserID})
	wantLine(t, res, "unsubscribe", fmt.Sprintf("unsubscribed user %d: %d pending", ada.UserID, cancelled))
	if calls := hostCalls(res); len(calls) != 1 || calls[0].fn != abi.HostCancel || calls[0].data != "drip-user-42" {
		t.Errorf("unsubscribe made the host calls %q, want one cancel of drip-user-42", calls)
	}
}

// hostCalls returns the calls a call made to fc functions other than log.
func hostCalls(res result) []event {
	var calls []event
	for _, e := range res.events {
		if e.fn != abi.HostLog {
			calls = append(calls, e)
		}
	}
	return calls
}

// checkMailer checks what a drip whose followUp sends e-mails does on a host whose
// operator configured no mail API: it logs the e-mail it would send.
func checkMailer(t *testing.T, p *plugin, ada, bob signup) {
	if r := p.manifest.Retry; r == nil || r.MaxAttempts != 3 || r.Backoff != "1s" {
		t.Errorf("manifest retry = %+v, want 3 attempts 1s apart", r)
	}
	if p.manifest.Version != "1.1.0" {
		t.Errorf("manifest version = %q, want 1.1.0", p.manifest.Version)
	}

	res := p.succeed(t, "followUp", map[string]any{"signup": ada})
	wantLine(t, res, "followUp", "follow-up e-mail to "+ada.Email+": tips for pro users")
	if calls := hostCalls(res); len(calls) == 0 || calls[0].fn != abi.HostConfig || calls[0].data != "mailUrl" ||
		slices.ContainsFunc(calls, func(e event) bool { return e.fn != abi.HostConfig && e.fn != abi.HostLastError }) {
		t.Errorf("followUp without mailUrl made the host calls %q, want a config of mailUrl first, and no request nor state", calls)
	}
	res = p.succeed(t, "followUp", map[string]any{"signup": bob})
	wantLine(t, res, "followUp", "follow-up e-mail to "+bob.Email+": try the pro plan")
}

// wantFollowUp checks that welcome cancelled the user's drip, then scheduled followUp.
func (p *plugin) wantFollowUp(t *testing.T, res result, s signup) {
	t.Helper()
	identifier := fmt.Sprintf("drip-user-%d", s.UserID)
	calls := hostCalls(res)
	if len(calls) != 2 || calls[0].fn != abi.HostCancel || calls[1].fn != abi.HostSchedule {
		t.Fatalf("welcome made the host calls %q, want cancel then schedule", calls)
	}
	if calls[0].data != identifier {
		t.Errorf("welcome cancelled %q, want %q", calls[0].data, identifier)
	}
	var req abi.ScheduleRequest
	dec := json.NewDecoder(strings.NewReader(calls[1].data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		t.Fatalf("schedule request %s: %v", calls[1].data, err)
	}
	if (req.Plugin != "" && req.Plugin != p.name) || req.Method != "followUp" ||
		req.Delay != "3d" || req.At != nil || req.Identifier != identifier || req.Retry != nil {
		t.Errorf("schedule request %s: want followUp on %s, delay 3d, identifier %s", calls[1].data, p.name, identifier)
	}
	p.checkArgs(t, "followUp", req.Args)
	var args struct{ Signup signup }
	if err := json.Unmarshal(req.Args, &args); err != nil || args.Signup != s {
		t.Errorf("followUp arguments %s: want the signup %+v", req.Args, s)
	}
}

func checkUnknownMethod(t *testing.T, p *plugin) {
	res := p.invoke(t, envelope(t, p.name, "noSuchMethod", json.RawMessage(`{}`)))
	if !res.failed || res.failure == "" {
		t.Errorf("an unknown method returned %t with message %q: want a failure with a message", !res.failed, res.failure)
	}
}
