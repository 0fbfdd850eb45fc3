// Package plugin loads futurecalls plugins (WebAssembly modules implementing the guest
// ABI of abi/README.md) and runs their calls in a sandbox.
//
// [Load] reads every *.wasm file of a directory into a [Registry]: each module is compiled
// once (wazero's compilation cache, on disk when configured), its imports and exports
// are checked against the ABI before any of its code runs, and a first instance reads its
// manifest, whose signatures are compiled (abi/signature). A module that fails is
// reported with its file and reason and skipped.
//
// The registry's plugins change while it runs (swap.go, driven by host/reload):
// [Registry.Candidate] loads a new version without adding it, [Registry.Install] swaps
// it in and [Registry.Remove] takes a plugin out. Each lookup sees one version;
// [Registry.Invoke] runs a call on the version loaded when the call starts, and a
// replaced version is closed once its last call ends.
//
// [Plugin.Invoke] runs one call: it validates the arguments against the method's
// signature, takes an instance, writes the envelope through fc_alloc and calls
// fc_invoke. The guest may call back into the host through the fc module (log,
// schedule, cancel, last_error, result, http, config); schedule and cancel go to the
// [HostCalls] the caller passes in, so what a call asks for can be committed with its
// outcome. http and config serve what the operator's [Grant] for the plugin allows:
// requests through its egress client (host/egress: an allow-list, addresses checked
// after DNS) and configuration values with their secrets resolved.
//
// # Sandbox
//
// Each plugin has its own wazero Runtime, because the memory cap is a Runtime setting;
// the runtimes share one compilation cache. A guest gets:
//   - a linear memory capped at Limits.MemoryLimit: memory.grow fails beyond it;
//   - a time limit per call (Limits.Timeout): the call's context carries the deadline;
//     when it passes, the guest traps within 1,024 loop iterations or calls (the
//     instrumentation's checks, loopcheck.go), and host functions and WASI sleeps end
//     with the context;
//   - a cap on output per call (Limits.OutputLimit) over fc.log, stdout and stderr, which
//     go to the host's structured log; beyond it output is dropped;
//   - WASI preview 1 without preopened directories, environment, arguments beyond the
//     module's name, or sockets, with real clocks and a cryptographic random source;
//   - imports from fc and wasi_snapshot_preview1 only, checked at load;
//   - no network but fc.http, which reaches only what the plugin's [Grant] allows, with
//     its own caps per call (Limits.HTTPMaxRequests, HTTPRequestLimit,
//     HTTPResponseLimit) and each request bounded by the call's remaining time.
//
// Host functions never trust the guest: every pointer and length is checked against the
// guest's memory, and a panic in a host function (or in HostCalls) is recovered and
// refused to the guest rather than crashing the host. A trap, a WASI proc_exit, a time
// limit or a cancellation ends the call with a [*CallError] and discards the instance.
//
// The time limit costs a decrement and a branch per loop iteration (BenchmarkTimeLimit:
// 1.5 ns per iteration of the tightest loop, against 1.2 without a check and 43 with
// wazero's WithCloseOnContextDone, which leaves the compiled code at every iteration and
// cost Go guests, whose WebAssembly is loop-heavy, about 6 times per call).
//
// # Sandbox: tables and the call stack
//
// Two things a guest makes the host allocate lie outside the linear memory, and wazero
// has no option to bound either: function tables (wazero grows a table without a
// declared maximum as far as table.grow asks, 8 bytes of host memory per element) and
// the native call stack (wazevo's stack is a Go slice that doubles until it exceeds
// 50,000,000 bytes: one deep recursion allocated 161 MiB in all, 126 MB of it alive at
// the last doubling). So Load rewrites every module before compiling it (instrument.go,
// which changes function bodies only to add the time checks at the start of loops):
//   - each table's maximum becomes at most Limits.TableLimit elements, so that a
//     table.grow beyond it returns -1 to the guest; a module whose table starts larger
//     is refused. An instance whose tables grew at all is discarded after its call, not
//     pooled (an exported size function tells), so the pool never holds more table than
//     a fresh instance.
//   - every function gets a wrapper, at its index, that adds an upper bound of the native
//     stack its frame and the wrapper's take (a fixed 832 bytes, 32 per parameter and
//     result, 16 per local, 8 per byte of body times the most results any type has, 16
//     per argument slot of the module's widest type and per global) to a counter, traps
//     when the counter would exceed Limits.StackLimit, calls the body, and subtracts it.
//     Calls, call_indirect through tables, exports and the start function all go through
//     the wrappers. A trap of the budget is reported as "stack overflow: the stack limit
//     of N bytes was reached".
//
// The weight bounds a frame by what its body can define: each instruction is at least a
// byte and defines at most one 8-byte scalar (16-byte vectors come from two-byte
// instructions), the saved registers are the callee-saved ones of wazevo's amd64 and
// arm64 ABIs, and a frame's outgoing slots are those of the widest call. (Tail calls and
// exceptions, which could bypass the wrappers, are not enabled.) In the tests and
// measurements the real stack stays well below the budget (a 100-deep recursion of small
// frames takes about 45 bytes a level against a weight of about 1 KiB). One case the
// per-byte count does not cover is SSA merge values of locals rewritten inside deeply
// nested loops: their number can grow as locals × loops, beyond 16 bytes per local. So
// the stack of one running call costs the host at most about 2 × Limits.StackLimit
// (wazevo doubles the slice past what is used), 3 × while it grows, and 4 × in all
// allocations over the call; with the default 8 MiB, a Go guest needing about 1 MiB of
// budget has 8 times its need. A function whose own weight exceeds the limit traps on
// every call.
//
// # Isolation
//
// Plugins never share memory, instances or runtimes with one another. Within a plugin,
// an instance runs one call at a time, so calls never overlap inside one instance. By
// default a plugin keeps a pool of warm instances (Limits.PoolSize idle at most; more
// are created on demand when calls run concurrently): a call may then see what earlier
// calls of the same plugin left in the instance's memory and globals, but never while
// they run, and never after one of them trapped, exited, timed out, was cancelled or grew
// its memory beyond Limits.RecycleAbove (by default twice a fresh instance's memory),
// since such an instance is discarded. With Limits.Fresh every call gets a new instance,
// discarded afterwards: no state survives from one call to the next, at the price of
// instantiating each time (about 3 ms for a Go plugin, microseconds for a small WAT one).
//
// # Memory budget
//
// What a guest can make the host hold, in the terms of the sandbox.* settings (the
// fields of Limits). One running call costs the host at most:
//
//	memoryLimit                     its linear memory
//	+ tables × tableLimit × 8 bytes its function tables (8 bytes per element)
//	+ 2 × stackLimit                its call stack (wazevo doubles the stack past what
//	                                is used; see above)
//	+ bufferLimit                   its accepted fc.schedule and fc.cancel requests, kept
//	                                for its outcome (what the executor makes of them,
//	                                parsed, comes on top and is of the same order)
//	+ 2 × httpRequestLimit          the body of the fc.http request being made, and its
//	                                JSON document as read (views of guest memory aside)
//	+ 14 × httpResponseLimit        the response body being read and its JSON document for
//	                                fc.result: about 2 × for text, up to 6 × escaped plus
//	                                the encoder's growth for a body of control characters
//	+ state.writeLimit              its fc.state_put and fc.state_delete requests, kept
//	                                for its outcome as well
//	+ about 3 MiB, in all,          the envelope (arguments up to 1 MiB) and the guest's
//	                                error message (up to 64 KiB), read out of memory;
//	                                unfinished output lines (4 KiB each for stdout and
//	                                stderr) and 512 bytes of stderr; the last document
//	                                for fc.result (a state value, up to 64 KiB by
//	                                default); output beyond that
//	                                is logged as it comes, never held (outputLimit
//	                                bounds how much)
//	  with the instance's overhead  and wazero's own state of the instance: about 1.1 MiB of
//	                                Go heap for a Go plugin (thousands of functions and a
//	                                table), about 40 KiB for a C, Rust or WAT one
//
// ([Limits.CallBudget] is this sum, which the end-to-end tests hold a host under attack
// to), and the idle instances of each plugin's pool hold at most
//
//	poolSize × (recycleAbove + instance overhead)
//
// so the host needs about concurrencyLimit × (one call) + Σ plugins poolSize ×
// (recycleAbove + overhead), beside its own baseline. With the defaults and a Go plugin:
// 64 MiB + tables (65536 elements, 512 KiB each) + 16 MiB of stack + 4 MiB + 1 MiB of
// state + 16 MiB of HTTP (at worst) + about 3 MiB per running call, and 8 × (2 × 3.4 MiB +
// 1.1 MiB), about 63 MiB, idle per plugin.
//
// Linear memory is what makes this hold: it lives outside the Go heap (linearMemory),
// in address space reserved up to memoryLimit and backed only where the guest writes,
// so a guest that grows to its cap costs the cap (TestMemoryBomb: +64 MiB for one
// 64 MiB bomb, +200 MiB for four at once; wazero's default, a Go slice grown by append,
// cost about 4 times as much, given back minutes later), and a discarded instance's
// memory goes back to the operating system at once. Reserved address space is not
// memory: a host with many instances shows a large virtual size and a small resident
// one. Being outside the Go heap, guest memory is not counted by the Go runtime: not by
// GOMEMLIMIT, runtime.MemStats or heap profiles; VmRSS counts it.
//
// An instance's memory starts as a copy-on-write mapping of its plugin's memory image
// (the module's data segments, taken out by the instrumentation: dataImage), one sealed
// memory file per plugin on Linux: a page the guest only reads is resident once for all
// the plugin's instances, a page it writes becomes its own, within its memory limit as
// any other. The budget above still holds, since every page of an instance is either
// shared or counted in its memoryLimit. VmRSS counts a shared page once per instance
// that maps it (the kernel counts mappings); the memory really used, and charged to the
// host's cgroup, counts it once, as Pss in /proc/<pid>/smaps_rollup does. 64 instances
// of the Go benchmark plugin in flight: Pss about 0.65 MiB per instance where VmRSS
// shows 2 MiB (bench P5).
//
// Like every package under host/, this is the host's implementation, imported by
// cmd/host and, for measurement, by bench/; it is not a supported API and changes
// without notice. Plugins build on sdk/ and abi, clients on the REST API or sdk/client.
package plugin
