"""The X-Ray tracer, made only by the functions that trace (``ecm.log.tracer``): making it
loads the X-Ray SDK and, on Lambda, patches the clients the product calls through."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import wrapt
from aws_lambda_powertools import Tracer

#: What the product calls through and X-Ray records: AWS (boto3 and pynamodb, both on
#: botocore) from the start; requests (URL sources, webhooks) once a function loads it, so
#: an API function that never fetches a URL does not import it only to patch it. Powertools'
#: default patched these and sqlite3, which the product does not use.
PATCHED = ("botocore", "pynamodb")
PATCHED_ON_IMPORT = ("requests",)


def make_tracer(service: str) -> Tracer:
    tracer = Tracer(service=service, patch_modules=PATCHED)
    if not tracer.disabled:  # off outside Lambda: tests and the local stack get no hook
        for module in PATCHED_ON_IMPORT:
            wrapt.register_post_import_hook(_patcher(tracer, module), module)
    return tracer


def _patcher(tracer: Tracer, module: str) -> Callable[[ModuleType], None]:
    def patch(_: ModuleType) -> None:
        tracer.patch((module,))

    return patch
