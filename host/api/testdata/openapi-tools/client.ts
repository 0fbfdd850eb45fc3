// A client of every endpoint, typed by openapi-typescript from /openapi.json (api.d.ts,
// generated next to it by the test) and called through openapi-fetch. It only has to
// type-check: tsc --noEmit is the test that a generated client can use the API.
import createClient from "openapi-fetch";
import type { paths } from "./api";

const api = createClient<paths>({ baseUrl: "http://127.0.0.1:8080", headers: { Authorization: "Bearer token" } });

export async function everyEndpoint(): Promise<void> {
  const scheduled = await api.POST("/v1/calls", {
    body: { plugin: "drip", method: "welcome", args: { signup: { userId: 1, email: "a@b.c", plan: "pro" }, note: "hi" }, delay: "3d" },
  });
  if (scheduled.data) {
    const note: unknown = scheduled.data.args.note; // stored args can be read
    console.log(scheduled.data.id, scheduled.data.runAt, note, scheduled.response.headers.get("Location"));
  }
  if (scheduled.error) {
    console.log(scheduled.error.error.code, scheduled.error.error.violations?.[0]?.pointer);
  }
  await api.POST("/v1/calls", { body: { plugin: "example", method: "doWork", args: null } });
  await api.POST("/v1/calls", { body: { plugin: "example", method: "doWork", cron: "@daily", timezone: "Europe/Berlin", identifier: "daily" } });
  await api.POST("/v1/calls", { body: { plugin: "example", method: "doOtherWork", args: { data: "x" }, every: "15m", identifier: "x" } });
  await api.POST("/v1/calls", {
    // @ts-expect-error: no plugin of this name is loaded
    body: { plugin: "nope", method: "doWork" },
  });
  await api.POST("/v1/calls", {
    // @ts-expect-error: doOtherWork needs its data
    body: { plugin: "example", method: "doOtherWork", args: {} },
  });

  const batch = await api.POST("/v1/calls/batch", {
    body: { calls: [{ plugin: "example", method: "doOtherWork", args: { data: "x" }, at: "2030-01-01T00:00:00Z" }] },
  });
  console.log(batch.data?.calls.length);

  const page = await api.GET("/v1/calls", { params: { query: { plugin: "example", limit: 10, dueBefore: "2030-01-01T00:00:00Z" } } });
  for (const call of page.data?.calls ?? []) {
    console.log(call.args["data"], call.status, call.series?.cron, page.data?.nextCursor);
    // Stored args are any JSON values, read as unknown and narrowed before use (a bare
    // "object" schema would type them never, which assigns to anything).
    // @ts-expect-error: unknown is not a number
    const attempts: number = call.args["attempts"];
    console.log(attempts);
  }
  const call = await api.GET("/v1/calls/{id}", { params: { path: { id: 1 } } });
  console.log(call.data?.retry.maxAttempts);
  const cancelled = await api.DELETE("/v1/calls", { params: { query: { identifier: "daily" } } });
  console.log(cancelled.data?.cancelled);
  await api.DELETE("/v1/calls/{id}", { params: { path: { id: 1 } } });

  const history = await api.GET("/v1/history", { params: { query: { outcome: "failed", seriesId: 1 } } });
  for (const entry of history.data?.entries ?? []) {
    console.log(entry.args["note"], entry.outcome, entry.error);
  }
  const plugins = await api.GET("/v1/plugins");
  console.log(plugins.data?.plugins.map((p) => p.calls.map((m) => m.params.map((param) => param.name))));
  const plugin = await api.GET("/v1/plugins/{name}", { params: { path: { name: "drip" } } });
  console.log(plugin.data?.file);

  const ready = await api.GET("/readyz");
  console.log(ready.data?.status, ready.error?.reasons);
  console.log((await api.GET("/healthz")).data?.status);
  console.log((await api.GET("/metrics")).data?.length);
  console.log((await api.GET("/openapi.json")).data);
  console.log((await api.HEAD("/healthz")).response.status, (await api.OPTIONS("/v1/calls")).response.headers.get("Allow"));
}
