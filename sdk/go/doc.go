// Package fc is the Go SDK for futurecalls plugins: write ordinary Go functions, register
// them by name, and build the package as a WebAssembly reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o example.wasm .
//
// A plugin is a main package (with an empty func main) whose init functions name the
// plugin and register its future calls:
//
//	func init() {
//		fc.Plugin("example", "1.0.0")
//		fc.Register("doWork", doWork)
//		fc.Register("doOtherWork", doOtherWork, "data")
//	}
//
//	func doWork(c fc.Call) error { fc.Logger().Info("working"); return nil }
//
//	func doOtherWork(c fc.Call, data string) error { ... }
//
// A call's function takes a Call first, then its parameters, and returns an error. Go
// cannot see a function's parameter names, so Register takes them after the function, in
// order. The SDK derives each parameter's JSON Schema from its Go type (see Register), so
// the host validates arguments before the call runs and the function receives them
// already decoded.
//
// The SDK implements guest ABI version 1 (abi/README.md): it exports memory, fc_alloc,
// fc_manifest and fc_invoke (with //go:wasmexport) and wraps the host functions (with
// //go:wasmimport): fc.log as Logger, fc.schedule and fc.cancel as Schedule and Cancel,
// and the capabilities the operator grants: fc.http as HTTP (and net/http's client in
// the package fchttp), fc.config as Config, fc.state_get, state_put and state_delete as
// StateGet, StatePut and StateDelete.
//
// An instance runs one call at a time, but the host keeps warm instances between calls:
// package variables survive from one call to the next of the same instance, and a call
// must not rely on them either way.
//
// Built for any other platform than wasip1, the package compiles too (so plugins' own
// tests run natively): Logger then writes to standard error, and the other host
// functions fail with ErrHost.
package fc
