# A Python MCP peer written with the PyPI `mcp` package (stdio).
from mcp.server.mcpserver import MCPServer

app = MCPServer("py-peer")


@app.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


app.run()
