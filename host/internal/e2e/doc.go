// Package e2e holds the end-to-end reliability and security suite: real host processes
// (the cmd/host binary, built once per test run), real PostgreSQL, real plugins in
// wazero, driven through the REST API and the command line the way an operator would.
//
// What it proves, each in its own test file:
//
//   - many_test.go: three hosts on one database run every call exactly once, checked
//     from the plugins' own effects (the follow-ups they schedule, the lines they log),
//     not only from the hosts' bookkeeping;
//   - curve_test.go: the same burst on 1, 2 and 3 hosts, its throughput at each point
//     and the bytes a stored call and a history row take (docs/scaling.md);
//   - pooler_test.go: three hosts behind one PgBouncer in transaction pooling mode
//     (pgbouncer_test.go starts it) run the many-hosts workload exactly once, with its
//     throughput and lateness logged beside three hosts connected directly;
//   - failover_test.go: a primary killed with SIGKILL under load and its streaming
//     replica (replica_test.go) promoted: 503 with Retry-After meanwhile, the hosts
//     reconnect by themselves; with synchronous replication no acknowledged call is
//     lost and none runs twice, with asynchronous replication what is lost is counted;
//   - crash_test.go: a host killed with SIGKILL mid-run leaves its claimed calls to the
//     survivors, which record them as interrupted (or run them again when they asked
//     for retries); every other call runs once; nothing of the killed host lingers;
//   - restart_test.go: PostgreSQL restarted (pg_ctl restart) and stopped for a while
//     under running hosts: the API answers 503 quickly while it is away, the hosts log
//     it, reconnect and carry on, and nothing is lost or run twice;
//   - hostile_test.go: misbehaving plugins (endless loops, memory bombs, stack
//     overflows, traps, log and fc.schedule floods, proc_exit, bad pointers, attempts
//     to read files, environment variables or the network; the table of
//     attacks_test.go) are contained with a clear error while they run side by side
//     with a stream of good calls, which all succeed; invalid modules are refused at
//     load;
//   - memory_test.go: the host's peak resident size (VmHWM) while memory attacks run
//     at its full concurrency stays within its memory budget (memoryBudget);
//   - auth_test.go: every /v1 route asks for a token when tokens are configured, and a
//     listener other machines can reach needs tokens;
//   - grants_test.go: a plugin granted one loopback server and two secrets (env: and
//     file:) in YAML: what arrives is what the plugin sent, with one Idempotency-Key
//     across a retry; a URL not granted is refused with a clear error; the history
//     counts each attempt's requests; no secret appears in the log, the API or `host
//     config`; a missing secret stops the host, naming its key;
//   - cli_test.go: the maintenance role, the pre-deploy check's exit codes and JSON
//     report, the serverless role, execution switched off, and graceful shutdown.
//
// The tests are bounded for CI (a few minutes on two cores). E2E_SOAK=1 (make soak)
// scales the workloads up: 100,000 calls over three hosts, and more calls under each
// fault.
//
// The host binary is built without the race detector: under it the hosts run several
// times slower and its build adds a minute, while every package of the host runs its own
// tests under -race in make test. E2E_RACE=1 builds the host with -race (and any
// race report fails the test that sees it in a host's output).
//
// Each host's output goes to a file; when a test fails, the end of every host's log is
// printed and the files are kept (their directory is named in the test output).
package e2e
