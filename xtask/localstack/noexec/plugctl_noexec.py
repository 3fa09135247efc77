"""A Lambda runtime executor for LocalStack on machines without Docker.

Selected with LAMBDA_RUNTIME_EXECUTOR=noexec. Version preparation succeeds
without touching a container runtime, so functions become Active and can be
updated; anything that would run code raises a clear error instead.
"""

from localstack.services.lambda_.invocation.plugins import RuntimeExecutorPlugin
from localstack.services.lambda_.invocation.runtime_executor import (
    LambdaRuntimeException,
    RuntimeExecutor,
)

_NO_EXECUTION = "this LocalStack has no execution environment (no Docker): invoking is not supported"


class NoExecRuntimeExecutor(RuntimeExecutor):
    """Prepares nothing; refuses to start or invoke."""

    def start(self, env_vars):
        raise LambdaRuntimeException(_NO_EXECUTION)

    def stop(self):
        pass

    def get_address(self):
        raise LambdaRuntimeException(_NO_EXECUTION)

    def get_endpoint_from_executor(self):
        raise LambdaRuntimeException(_NO_EXECUTION)

    def get_runtime_endpoint(self):
        raise LambdaRuntimeException(_NO_EXECUTION)

    def invoke(self, payload):
        raise LambdaRuntimeException(_NO_EXECUTION)

    def get_logs(self):
        return ""

    @classmethod
    def prepare_version(cls, function_version):
        pass

    @classmethod
    def cleanup_version(cls, function_version):
        pass

    @classmethod
    def validate_environment(cls):
        return True


class NoExecPlugin(RuntimeExecutorPlugin):
    name = "noexec"

    def load(self, *args, **kwargs):
        return NoExecRuntimeExecutor
