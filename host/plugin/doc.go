// Package plugin loads futurecalls plugins (WebAssembly modules implementing the guest
// ABI of abi/README.md) and runs their calls in a sandbox.
//
// Load reads every *.wasm file of a directory into a Registry: each module is compiled
// once (wazero's compilation cache, on disk when configured), its imports and exports
// are checked against the ABI before any of its code runs, and a first instance reads its
// manifest, whose signatures are compiled (abi/signature). A module that fails is
// reported with its file and reason and skipped.
//
// Plugin.Invoke runs one call: it validates the arguments against the method's
// signature, takes an instance, writes the envelope through fc_alloc and calls
// fc_invoke. The guest may call back into the host through the fc module (log,
// schedule, cancel, last_error); schedule and cancel go to the HostCalls the caller
// passes in, so what a call asks for can be committed with its outcome.
//
// # Sandbox
//
// Each plugin has its own wazero Runtime, because the memory cap is a Runtime setting;
// the runtimes share one compilation cache. A guest gets:
//   - a linear memory capped at Limits.MemoryLimit: memory.grow fails beyond it;
//   - a time limit per call (Limits.Timeout): the call's context carries the deadline
//     and the runtime closes the instance when it passes (WithCloseOnContextDone), in a
//     loop, in a host function or in a WASI sleep alike;
//   - a cap on output per call (Limits.OutputLimit) over fc.log, stdout and stderr, which
//     go to the host's structured log; beyond it output is dropped;
//   - WASI preview 1 without preopened directories, environment, arguments beyond the
//     module's name, or sockets, with real clocks and a cryptographic random source;
//   - imports from fc and wasi_snapshot_preview1 only, checked at load.
//
// Host functions never trust the guest: every pointer and length is checked against the
// guest's memory, and a panic in a host function (or in HostCalls) is recovered and
// refused to the guest rather than crashing the host. A trap, a WASI proc_exit, a time
// limit or a cancellation ends the call with a *CallError and discards the instance.
//
// Two costs of the sandbox are wazero's, not configurable here: WithCloseOnContextDone
// makes every loop iteration of guest code check for termination (BenchmarkCloseOnContextDone:
// about 25 times slower in the tightest loop, about 6 times per call for Go guests, whose
// WebAssembly is loop-heavy); and a guest's call stack lives outside its linear memory,
// growing up to wazero's ceiling of 400 MB per running call, so deep recursion costs the
// host memory beyond Limits.MemoryLimit until it traps with a stack overflow.
//
// # Isolation
//
// Plugins never share memory, instances or runtimes with one another. Within a plugin,
// an instance runs one call at a time, so calls never overlap inside one instance. By
// default a plugin keeps a pool of warm instances (Limits.PoolSize idle at most; more
// are created on demand when calls run concurrently): a call may then see what earlier
// calls of the same plugin left in the instance's memory and globals, but never while
// they run, and never after one of them trapped, exited, timed out, was cancelled or grew
// its memory beyond Limits.RecycleAbove, since such an instance is discarded. With
// Limits.Fresh every call gets a new instance, discarded afterwards: no state survives
// from one call to the next, at the price of instantiating each time (about 3 ms for a Go
// plugin, microseconds for a small WAT one).
package plugin
