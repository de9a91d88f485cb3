"""Lambda's runtime, as the local stack's functions meet it: each function's module imported
fresh per execution environment, a context object, and an error answered as Lambda answers it.
Both the stack (event sources, Step Functions) and the API Gateway emulation invoke through it."""

from __future__ import annotations

import contextlib
import contextvars
import importlib.util
import itertools
import json
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from devstack.template import ACCOUNT, REGION, Function
from ecm.log import logger

Handler = Callable[[dict[str, Any], Any], Any]

#: The function whose code runs on this thread (its logical id), None outside any.
_RUNNING: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "ecm_running_function", default=None
)


def running_function() -> str | None:
    """The function running here: on AWS each function is a process of its own; here they
    share one, so whoever needs to know (the call recorder) asks the thread's context."""
    return _RUNNING.get()


@contextlib.contextmanager
def running_as(name: str) -> Iterator[None]:
    """Run the block as function ``name`` (its invocation, or work done on its behalf)."""
    token = _RUNNING.set(name)
    try:
        yield
    finally:
        _RUNNING.reset(token)


_ORIGINAL_SUBMIT = ThreadPoolExecutor.submit


def _submit_in_context(
    self: ThreadPoolExecutor, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
) -> Future[Any]:
    return _ORIGINAL_SUBMIT(self, contextvars.copy_context().run, fn, *args, **kwargs)


def carry_context_into_pools() -> None:
    """Work a function hands to a thread pool (its own, or boto3's transfer threads) runs in
    a copy of the function's context, as if the pool belonged to the function's own process:
    the thread knows which function it works for, and Powertools' thread-safe log keys (a
    context variable) follow it there."""
    ThreadPoolExecutor.submit = _submit_in_context  # type: ignore[method-assign]


class LambdaContext:
    """The parts of the Lambda context object our handlers and Powertools read."""

    def __init__(self, name: str, timeout: int = 900) -> None:
        self.function_name = name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 1024
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(int((self._deadline - time.monotonic()) * 1000), 0)


def _load_module_handler(function: Function, copy: int) -> Handler:
    """The handler of one fresh import of the function's module: one execution environment."""
    module_name, attr = function.handler.rsplit(".", 1)
    path = function.code_uri / f"{module_name.replace('.', '/')}.py"
    unique = f"ecm_function_{function.logical_id}" + (f"_{copy}" if copy else "")
    module = sys.modules.get(unique)
    if module is None:
        spec = importlib.util.spec_from_file_location(unique, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[unique] = module
        spec.loader.exec_module(module)
    handler: Handler = getattr(module, attr)
    return handler


#: Numbers the extra module copies (unique in the process, whichever pool loads them).
_COPIES = itertools.count(1)


class ExecutionEnvironments:
    """A function as Lambda runs it: each environment handles one event at a time, and a
    call that finds them all busy gets a new one (a cold start: a fresh import of the
    function's module). Powertools' resolvers keep the current event on themselves, so two
    requests in one resolver at once (a browser loads the console's modules in parallel)
    would answer each other's routes; on AWS that never happens, and here it does not either."""

    def __init__(self, function: Function) -> None:
        self.function = function
        self._idle: list[Handler] = [_load_module_handler(function, 0)]
        self._lock = threading.Lock()

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        with self._lock:
            if self._idle:
                handler = self._idle.pop()
            else:
                handler = None
                copy = next(_COPIES)
        if handler is None:
            handler = _load_module_handler(self.function, copy)
        try:
            return handler(event, context)
        finally:
            with self._lock:
                self._idle.append(handler)


def load_handler(function: Function) -> Handler:
    with running_as(function.logical_id):  # a module's import-time calls are the function's
        environments = ExecutionEnvironments(function)
    return _with_function_name(environments)


def _with_function_name(handler: Handler) -> Handler:
    """Log lines carry the function they come from, as on AWS: here every handler runs in one
    process, on many threads, and Powertools' logger keeps one set of global keys (the last
    invocation's), so the name goes in the thread's own keys, which take precedence."""

    def run(event: dict[str, Any], context: Any) -> Any:
        keys = {
            "function_name": context.function_name,
            "function_request_id": context.aws_request_id,
        }
        logger.thread_safe_append_keys(**keys)
        try:
            with running_as(context.function_name):
                return handler(event, context)
        finally:
            logger.thread_safe_remove_keys(list(keys))

    return run


def invoke(handlers: dict[str, Handler], name: str, event: Any) -> tuple[str, bool, str]:
    """Run a handler like Lambda does: an exception becomes {"errorType", "errorMessage"}."""
    try:
        result = handlers[name](event, LambdaContext(name))
    except Exception as exc:
        payload = {"errorType": type(exc).__name__, "errorMessage": str(exc)}
        return json.dumps(payload), True, ""
    return json.dumps(result), False, ""
