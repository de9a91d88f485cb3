"""The environment the template gives every function, resolved for the local stack: the
names of its tables and bucket. The local stack sets it for its handlers; tests, benchmarks
and ``make user`` run domain code outside a handler and set it the same way."""

from __future__ import annotations

import os

from devstack.template import LocalTemplate, load_template
from ecm.api.auth import MIN_TOKEN_LENGTH
from ecm.settings import Settings


def local_environment(aws_port: int = 4566) -> dict[str, str]:
    """Every function's variables (tables, bucket, queues), as the local stack names them."""
    merged: dict[str, str] = {}
    for function in LocalTemplate(load_template(), {}, aws_port).functions().values():
        merged.update({k: str(v) for k, v in function.environment.items()})
    return merged


def required_variables() -> list[str]:
    """The variables ecm.settings has no default for (the tables and the bucket)."""
    return [
        str(field.validation_alias)
        for field in Settings.model_fields.values()
        if field.is_required()
    ]


def use_local_environment(aws_port: int = 4566, only_required: bool = True) -> None:
    """Set the local names of what is not set already (a caller's own value wins): the
    required variables only, unless ``only_required`` is False (queues and secrets too)."""
    wanted = set(required_variables()) if only_required else None
    for name, value in local_environment(aws_port).items():
        if wanted is None or name in wanted:
            os.environ.setdefault(name, value)


def admin_token_problem() -> str | None:
    """Why ECM_ADMIN_TOKEN can't be the local admin's token, if it can't: said before the stack
    starts, in one line, instead of a traceback from the first user it would create."""
    token = os.environ.get("ECM_ADMIN_TOKEN")
    if token and len(token) < MIN_TOKEN_LENGTH:
        return (
            f"ECM_ADMIN_TOKEN must be at least {MIN_TOKEN_LENGTH} characters (it has "
            f"{len(token)}); set a longer one, or unset it for a generated token"
        )
    return None
