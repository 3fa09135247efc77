# An MCP server (PyPI `mcp`, stdio) that misbehaves on request, for fault tests.
import asyncio
import os
import sys

from mcp.server.mcpserver import MCPServer
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
def big(size: int) -> str:
    """Answer with `size` characters."""
    return "x" * size


app.run()
