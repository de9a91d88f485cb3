"""The routes of the plans' API function: list the plans, read one, store one. Each route
is one call of ``ecm.plans.api``; its bodies are declared in ``ecm.plans.schemas``."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path

from ecm.api.params import RecordId
from ecm.api.resolver import BASE, current_user, json_response
from ecm.api.schemas import responses
from ecm.plans import PLAN_PATTERN, PLAN_RULE
from ecm.plans.api import PLAN_NOT_FOUND, all_plans, one_plan, put_plan
from ecm.plans.schemas import PlanBody, PlanList, PlanRequest

PLANS = BASE + "/plans"
PLAN_TAGS = ["Plans"]
CODE_DESCRIPTION = f"A plan's code, in any case: {PLAN_RULE}"
#: A code that can't be one names no plan (404, before the query is read).
ReadCode = Annotated[str, RecordId(PLAN_NOT_FOUND, PLAN_PATTERN, CODE_DESCRIPTION)]
#: A PUT of a code that can't be one is told the rule (422), so the pattern is declared only.
WrittenCode = Annotated[
    str,
    Path(
        description=CODE_DESCRIPTION,
        json_schema_extra={"pattern": f"^{PLAN_PATTERN.pattern}$"},
    ),
]


def plan_routes() -> Router:
    """What we know about each health plan: how its MIFs read, how its return files look."""
    router = Router()

    @router.get(
        PLANS,
        summary="The health plans, by code",
        responses=responses({200: PlanList}),
        tags=PLAN_TAGS,
    )
    def get_plans() -> Response[PlanList]:
        return json_response(200, all_plans())

    @router.get(
        PLANS + "/<code>",
        summary="One plan (its code in any case)",
        responses=responses({200: PlanBody}, 404),
        tags=PLAN_TAGS,
    )
    def get_plan(code: ReadCode) -> Response[PlanBody]:
        return json_response(200, one_plan(code))

    @router.put(
        PLANS + "/<code>",
        summary="Create or replace a plan: its MIF headers, roster rule and return-file layouts",
        description="The plan is stored whole (what the body leaves out takes its default). "
        "422 names every wrong header, field or layout part, and nothing is stored; 409 while "
        "the plan's layout document from the bucket is not migrated.",
        responses=responses({200: PlanBody}, 404, 409, 415),
        tags=PLAN_TAGS,
    )
    def put_one_plan(code: WrittenCode, body: Annotated[PlanRequest, Body()]) -> Response[PlanBody]:
        return json_response(200, put_plan(code, body.plan, current_user(router)))

    return router
