#!/usr/bin/env python3
"""pre_deploy hook: estimate the monthly AWS Lambda cost of the function being deployed.

Reads one JSON event object on stdin and writes one JSON object in Claude Code hook
output format on stdout. Exit codes: 0 = continue, 1 = bad input, 2 = block (the
estimate exceeds params.max_monthly_cost_usd).
"""
import json
import sys

# Public us-east-1 x86 list prices. The free tier (1M requests and 400,000 GB-s per
# month) is deliberately ignored, so the estimate is an upper bound for small accounts.
PRICE_PER_MILLION_REQUESTS = 0.20
PRICE_PER_GB_SECOND = 0.0000166667


def estimate(params):
    """Return (total, requests_cost, compute_cost, gb_seconds) in USD per month."""
    memory_mb = float(params.get("memory_mb", 128))
    invocations = float(params.get("expected_invocations_per_month", 1_000_000))
    duration_ms = float(params.get("avg_duration_ms", 200))
    gb_seconds = invocations * (duration_ms / 1000.0) * (memory_mb / 1024.0)
    requests_cost = invocations / 1_000_000 * PRICE_PER_MILLION_REQUESTS
    compute_cost = gb_seconds * PRICE_PER_GB_SECOND
    return requests_cost + compute_cost, requests_cost, compute_cost, gb_seconds


def main():
    try:
        event = json.load(sys.stdin)
        if not isinstance(event, dict):
            raise ValueError("expected a JSON object")
        params = event.get("params") or {}
        total, req, comp, gbs = estimate(params)
    except (ValueError, TypeError) as exc:  # json.JSONDecodeError is a ValueError
        print(f"cost_estimate: invalid hook input: {exc}", file=sys.stderr)
        return 1
    fn = params.get("function_name", "<unnamed>")
    detail = f"requests ${req:.2f} + compute ${comp:.2f} for {gbs:,.0f} GB-s; free tier ignored"
    budget = params.get("max_monthly_cost_usd")
    if budget is not None and total > float(budget):
        print(f"Estimated Lambda cost for {fn}: ${total:.2f}/month exceeds the budget "
              f"max_monthly_cost_usd=${float(budget):.2f} ({detail})", file=sys.stderr)
        return 2
    json.dump({
        "continue": True,
        "systemMessage": f"Estimated Lambda cost for {fn}: ${total:.2f}/month ({detail})",
        "hookSpecificOutput": {
            "hookEventName": event.get("event", "pre_deploy"),
            "additionalContext": f"Monthly cost estimate for Lambda {fn} (us-east-1 x86 list "
                                 f"prices): ${total:.2f} ({detail}).",
        },
    }, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
