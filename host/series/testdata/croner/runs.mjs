// runs.mjs prints croner's run times for the cases on stdin, so the Go tests can compare
// host/series with an independent implementation. Input: a JSON array of
// {cron, zone, from, until} (RFC 3339); output: a JSON array holding, for each case, the
// run times strictly after from and at most until, in UTC.
import { Cron } from "croner";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const out = JSON.parse(input).map(({ cron, zone, from, until }) => {
  const job = new Cron(cron, { timezone: zone, paused: true });
  const end = new Date(until);
  const runs = [];
  for (let t = job.nextRun(new Date(from)); t && t <= end; t = job.nextRun(t)) {
    runs.push(t.toISOString().replace(".000Z", "Z"));
  }
  return runs;
});
process.stdout.write(JSON.stringify(out));
