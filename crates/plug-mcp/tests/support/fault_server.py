# An MCP server (PyPI `mcp`) that misbehaves on request, for fault tests.
# Over stdio by default; `fault_server.py http PORT [json]` serves Streamable
# HTTP on 127.0.0.1:PORT/mcp instead, answering with SSE or, given `json`,
# with plain JSON bodies.
import asyncio
import json
import os
import sys

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import ToolAnnotations

app = MCPServer("faulty")


@app.tool()
def echo(text: str) -> str:
    """Answer normally."""
    return text


@app.tool()
def crash() -> str:
    """Exit the process in the middle of the call."""
    sys.stderr.write("faulty: crashing on purpose\n")
    sys.stderr.flush()
    os._exit(3)


@app.tool(annotations=ToolAnnotations(readOnlyHint=True))
def crash_once(marker: str) -> str:
    """Exit the first time (creating `marker`), answer afterwards."""
    if not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(4)
    return "survived"


@app.tool(annotations=ToolAnnotations(idempotentHint=True))
def crash_once_idempotent(marker: str) -> str:
    """Like crash_once, annotated idempotent instead of read-only."""
    if not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(4)
    return "survived"


@app.tool()
def crash_once_unmarked(marker: str) -> str:
    """Like crash_once, without a read-only or idempotent annotation."""
    if not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(4)
    return "survived"


@app.tool()
async def hang() -> str:
    """Never answer."""
    await asyncio.sleep(3600)
    return "late"


@app.tool()
def trace_context(ctx: Context) -> str:
    """Answer with the W3C trace context the call carried: in `_meta`, and
    (over HTTP) in the `traceparent` header."""
    request_context = ctx.request_context
    meta = request_context.meta or {}
    http = request_context.request
    header = http.headers.get("traceparent") if http is not None else None
    return json.dumps({"meta": meta.get("traceparent"), "header": header})


@app.tool()
def big(size: int) -> str:
    """Answer with `size` characters."""
    return "x" * size


if sys.argv[1:2] == ["http"]:
    app.run(
        "streamable-http",
        host="127.0.0.1",
        port=int(sys.argv[2]),
        json_response=sys.argv[3:4] == ["json"],
    )
else:
    app.run()
