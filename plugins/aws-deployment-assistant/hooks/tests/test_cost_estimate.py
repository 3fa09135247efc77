"""Tests for the cost_estimate.py pre_deploy hook (stdlib only: unittest + subprocess)."""
import json
import subprocess
import sys
import unittest
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "cost_estimate.py"


def run_hook(stdin_text):
    return subprocess.run([sys.executable, str(SCRIPT)], input=stdin_text,
                          capture_output=True, text=True, timeout=30)


def event(**params):
    return json.dumps({"event": "pre_deploy", "run_id": "run-123",
                       "plugin": "aws-deployment-assistant", "skill": "deploy-lambda",
                       "step": None, "params": {"function_name": "hello", **params},
                       "actor": "agent"})


class CostEstimateTest(unittest.TestCase):
    def test_default_estimate(self):
        # 1M requests -> $0.20; 1M * 0.2 s * 0.125 GB = 25,000 GB-s -> $0.42; total $0.62
        proc = run_hook(event())
        self.assertEqual(proc.returncode, 0, proc.stderr)
        out = json.loads(proc.stdout)
        self.assertIs(out["continue"], True)
        self.assertIn("Estimated Lambda cost for hello: $0.62/month", out["systemMessage"])
        self.assertEqual(out["hookSpecificOutput"]["hookEventName"], "pre_deploy")
        self.assertIn("$0.62", out["hookSpecificOutput"]["additionalContext"])

    def test_custom_params(self):
        # 10M * 1 s * 1 GB = 10M GB-s -> $166.67 + $2.00 requests = $168.67
        proc = run_hook(event(memory_mb=1024, expected_invocations_per_month=10_000_000,
                              avg_duration_ms=1000))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("$168.67/month", json.loads(proc.stdout)["systemMessage"])

    def test_within_budget_continues(self):
        proc = run_hook(event(max_monthly_cost_usd=1))
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def test_over_budget_blocks_with_exit_2(self):
        proc = run_hook(event(memory_mb=3008, max_monthly_cost_usd=5))
        self.assertEqual(proc.returncode, 2)
        self.assertEqual(proc.stdout, "")
        self.assertIn("exceeds the budget", proc.stderr)
        self.assertIn("hello", proc.stderr)

    def test_invalid_json_exits_1(self):
        proc = run_hook("{not json")
        self.assertEqual(proc.returncode, 1)
        self.assertIn("invalid hook input", proc.stderr)
        self.assertEqual(proc.stdout, "")


if __name__ == "__main__":
    unittest.main()
