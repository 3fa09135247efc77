// The official TypeScript SDK client doing what examples/bench_echo.rs does:
// sequential `echo` calls over stdio, timed one by one; prints one JSON line.
// usage: node bench_client.mjs CALLS PROGRAM [ARGS...]
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const [calls, command, ...args] = process.argv.slice(2);
const n = Number(calls);
const client = new Client({ name: "ts-bench", version: "1.0.0" });
await client.connect(new StdioClientTransport({ command, args }));
const call = () => client.callTool({ name: "echo", arguments: { message: "bench" } });
for (let i = 0; i < 100; i++) await call();
const times = [];
const started = process.hrtime.bigint();
for (let i = 0; i < n; i++) {
  const one = process.hrtime.bigint();
  await call();
  times.push(Number(process.hrtime.bigint() - one) / 1e6);
}
const totalMs = Number(process.hrtime.bigint() - started) / 1e6;
await client.close();
times.sort((a, b) => a - b);
const at = (q) => times[Math.round((times.length - 1) * q)];
console.log(JSON.stringify({
  client: "TypeScript SDK",
  calls: n,
  p50_ms: at(0.5),
  p99_ms: at(0.99),
  calls_per_sec: n / (totalMs / 1000),
}));
