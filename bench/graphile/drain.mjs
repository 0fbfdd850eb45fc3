// drain.mjs measures Graphile Worker for make bench's P1 (bench/graphile.go starts it),
// by the method of Graphile Worker's own perfTest: the jobs are queued with one
// graphile_worker.add_jobs call, then worker processes drain them.
//
// Environment: DATABASE_URL (a fresh database), GRAPHILE_JOBS (how many no-op jobs),
// GRAPHILE_PROCESSES, GRAPHILE_CONCURRENCY (concurrentJobs of each process) and
// GRAPHILE_SETTING: "defaults", "localqueue" (localQueue.size = jobs + 1) or "batched"
// (perfTest's graphile.config.js: localQueue.size 500 with a 10 ms refetchDelay,
// completeJobBatchDelay and failJobBatchDelay 0, maxPoolSize concurrentJobs + 1).
//
// The parent installs the schema, queues the jobs, vacuums, forks the worker processes and
// waits until each has loaded Graphile Worker; then it starts the clock and tells them to
// run. It stops the clock when the task has run as many times as there are jobs and the
// jobs table is empty (a batched completion deletes the jobs a moment after they ran).
// It prints one JSON line on stdout: {"ran": runs of the task, "tookMs": the time}.
import { fork } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";

import pg from "pg";

const connectionString = process.env.DATABASE_URL;
const jobs = positive("GRAPHILE_JOBS");
const processes = positive("GRAPHILE_PROCESSES");
const concurrency = positive("GRAPHILE_CONCURRENCY");
const setting = process.env.GRAPHILE_SETTING;

// How often each worker process tells the parent how many jobs it has run.
const reportEveryMs = 5;

function positive(name) {
  const n = Number(process.env[name]);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, not ${process.env[name]}`);
  return n;
}

// workerOptions is the preset's worker section for the setting.
function workerOptions() {
  const base = { connectionString, concurrentJobs: concurrency };
  switch (setting) {
    case "defaults":
      return base;
    case "localqueue":
      return { ...base, localQueue: { size: jobs + 1 } };
    case "batched":
      return {
        ...base,
        maxPoolSize: concurrency + 1,
        localQueue: { size: 500, refetchDelay: { durationMs: 10 } },
        completeJobBatchDelay: 0,
        failJobBatchDelay: 0,
      };
    default:
      throw new Error(`GRAPHILE_SETTING must be defaults, localqueue or batched, not ${setting}`);
  }
}

if (process.argv[2] === "worker") {
  await worker();
} else {
  await parent();
}

// worker runs one Graphile Worker process: it loads the library, says it is ready, runs
// the no-op task from the parent's "run" until its "stop", and reports its count.
async function worker() {
  const graphile = await import("graphile-worker");
  let ran = 0;
  let runner;
  let reporting;
  process.on("message", async (msg) => {
    if (msg === "run") {
      runner = await graphile.run({
        preset: { worker: workerOptions() },
        logger: quietLogger(graphile),
        noHandleSignals: true,
        taskList: { noop: async () => { ran++; } },
      });
      reporting = setInterval(() => process.send({ ran }), reportEveryMs);
    } else if (msg === "stop") {
      clearInterval(reporting);
      await runner.stop();
      process.send({ ran, stopped: true }, () => process.exit(0));
    }
  });
  process.send({ ready: true });
}

// parent sets the database up, runs the worker processes and prints the result.
async function parent() {
  const graphile = await import("graphile-worker");
  await graphile.runMigrations({ connectionString, logger: quietLogger(graphile) });
  const pool = new pg.Pool({ connectionString, max: 1 });
  const specs = JSON.stringify(Array.from({ length: jobs }, () => ({ identifier: "noop", payload: {} })));
  await pool.query(
    "select 1 from graphile_worker.add_jobs(array(select json_populate_recordset(null::graphile_worker.job_spec, $1::json)))",
    [specs],
  );
  await pool.query("VACUUM (ANALYZE) graphile_worker._private_jobs");

  const children = Array.from({ length: processes }, () => fork(new URL(import.meta.url).pathname, ["worker"]));
  const ran = new Array(processes).fill(0);
  const stopping = new Array(processes).fill(false);
  const stopped = children.map(() => {
    let resolve;
    const promise = new Promise((r) => (resolve = r));
    return { promise, resolve };
  });
  await Promise.all(
    children.map(
      (child, i) =>
        new Promise((resolve) => {
          child.on("exit", (code) => {
            if (stopping[i]) return;
            console.error(`graphile drain: worker process ${i} exited with ${code} before it was told to stop`);
            process.exit(1);
          });
          child.on("message", (msg) => {
            if (msg.ready) resolve();
            if (msg.ran !== undefined) ran[i] = msg.ran;
            if (msg.stopped) stopped[i].resolve();
          });
        }),
    ),
  );

  const start = process.hrtime.bigint();
  for (const child of children) child.send("run");
  const total = () => ran.reduce((a, b) => a + b, 0);
  for (;;) {
    await sleep(reportEveryMs);
    if (total() < jobs) continue;
    const { rows } = await pool.query("select count(*)::int as left from graphile_worker._private_jobs");
    if (rows[0].left === 0) break;
  }
  const tookMs = Number(process.hrtime.bigint() - start) / 1e6;

  children.forEach((child, i) => {
    stopping[i] = true;
    child.send("stop");
  });
  await Promise.all(stopped.map((s) => s.promise));
  await pool.end();
  console.log(JSON.stringify({ ran: total(), tookMs }));
}

// quietLogger drops Graphile Worker's informational lines (one per worker started, or
// per job with some settings) and keeps its warnings and errors, on stderr.
function quietLogger({ Logger }) {
  return new Logger(() => (level, message) => {
    if (level === "error" || level === "warning") console.error(`graphile-worker ${level}: ${message}`);
  });
}
