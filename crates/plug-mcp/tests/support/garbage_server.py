# A broken stdio MCP server in plain Python (the `mcp` package guards stdout,
# so a library server cannot do this): it completes the handshake, then
# answers every request with a line that is not JSON-RPC.
import json
import sys

for line in sys.stdin:
    message = json.loads(line)
    if message.get("method") == "initialize":
        result = {
            "protocolVersion": message["params"]["protocolVersion"],
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "garbage", "version": "0"},
        }
        print(json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": result}), flush=True)
    elif "id" in message:
        print("this is not json", flush=True)
