// The official TypeScript SDK client driving `plugctl serve` for
// crates/plugctl/tests/serve.rs. It reads a scenario (a JSON file named on the
// command line), performs its steps and prints one JSON object on stdout.
//
// scenario: {
//   command, args, cwd, env          // start the server over stdio, or
//   url, headers                     // connect over Streamable HTTP
//   elicit: {action, content}        // declare elicitation; answer every form with this
//   steps: [ {op: "list"}
//          | {op: "call", name, arguments, cancelWhenExists: PATH} ]
//   holdUntil: {dir, contains}       // before closing, wait until a file in dir contains text
// }
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";

const scenario = JSON.parse(readFileSync(process.argv[2], "utf8"));
const capabilities = scenario.elicit ? { elicitation: { form: {} } } : {};
const client = new Client({ name: "plugctl-serve-test", version: "1.0.0" }, { capabilities });
const elicitations = [];
if (scenario.elicit) {
  client.setRequestHandler(ElicitRequestSchema, async (request) => {
    elicitations.push(request.params);
    return scenario.elicit;
  });
}
const transport = scenario.url
  ? new StreamableHTTPClientTransport(new URL(scenario.url), {
      requestInit: { headers: scenario.headers ?? {} },
    })
  : new StdioClientTransport({
      command: scenario.command,
      args: scenario.args,
      cwd: scenario.cwd,
      env: scenario.env,
      stderr: "inherit",
    });
await client.connect(transport);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function call(step) {
  const progress = [];
  const abort = new AbortController();
  const watcher = step.cancelWhenExists
    ? setInterval(() => {
        if (existsSync(step.cancelWhenExists)) abort.abort("the test cancels");
      }, 50)
    : undefined;
  try {
    const result = await client.callTool(
      { name: step.name, arguments: step.arguments ?? {} },
      undefined,
      {
        signal: abort.signal,
        timeout: 600000,
        resetTimeoutOnProgress: true,
        onprogress: (p) => progress.push(p),
      },
    );
    return { result, progress };
  } catch (error) {
    return { error: String(error?.message ?? error), progress };
  } finally {
    clearInterval(watcher);
  }
}

async function holdUntil({ dir, contains }) {
  const deadline = Date.now() + 60000;
  while (Date.now() < deadline) {
    const files = existsSync(dir) ? readdirSync(dir) : [];
    if (files.some((f) => readFileSync(join(dir, f), "utf8").includes(contains))) return true;
    await sleep(50);
  }
  return false;
}

const out = { server: client.getServerVersion(), calls: [] };
for (const step of scenario.steps) {
  if (step.op === "list") {
    out.tools = (await client.listTools()).tools;
  } else {
    out.calls.push(await call(step));
  }
}
if (scenario.holdUntil) out.held = await holdUntil(scenario.holdUntil);
out.elicitations = elicitations;
await client.close();
console.log(JSON.stringify(out));
