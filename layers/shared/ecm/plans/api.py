"""The plans' API: list them, read one, store one whole.

A plan's layouts are checked as an export would use them (every problem named, nothing
stored), so a plan that is stored can always be exported. A plan that still has its
document from before plans were records (``config/plans/<code>.json``) is not written over
by a PUT: that document is migrated first (``ecm.cli migrate-plans``), so its layout is
never lost silently.
"""

from __future__ import annotations

from typing import Any

import orjson

from ecm.errors import ApiError
from ecm.exports.kinds import EXPORT_KINDS
from ecm.exports.layouts import LayoutError, effective_layout, record_document
from ecm.log import logger
from ecm.plans import check_plan
from ecm.plans.columns import column_problems, plan_field_problems
from ecm.plans.documents import has_document
from ecm.plans.records import get_plan, list_plans, save_plan
from ecm.plans.schemas import PlanFields

Item = dict[str, Any]
PLAN_NOT_FOUND = "Plan not found"
#: A plan's stored size at most (its layouts' code tables are the open part): far below
#: DynamoDB's 400 KB item limit.
MAX_PLAN_BYTES = 256 * 1024


def plan_body(record: Item) -> Item:
    """A stored plan as the API shows it (defaults for what an older record lacks)."""
    return {
        "code": record["code"],
        "name": record["name"],
        "mif_columns": dict(record.get("mif_columns") or {}),
        "full_roster": record.get("full_roster") is not False,
        "mcp_name": record.get("mcp_name") or "",
        "mcp_identifier": record.get("mcp_identifier") or "",
        "rtf": record.get("rtf"),
        "otf": record.get("otf"),
        "created_at": record["created_at"],
        "updated_at": record["updated_at"],
        "updated_by": record.get("updated_by"),
    }


def _code(raw: str, *, not_found: bool) -> str:
    """The path's plan code in lower case: a GET of a code that can't be one finds nothing
    (404); a PUT of one is told the rule (422)."""
    try:
        return check_plan(raw)
    except ValueError as exc:
        if not_found:
            raise ApiError(404, PLAN_NOT_FOUND) from None
        raise ApiError(422, f"code {exc}") from None


def all_plans() -> Item:
    return {"plans": [plan_body(record) for record in list_plans()]}


def one_plan(raw_code: str) -> Item:
    record = get_plan(_code(raw_code, not_found=True))
    if record is None:
        raise ApiError(404, PLAN_NOT_FOUND)
    return {"plan": plan_body(record)}


def _layout_problems(code: str, fields: Item) -> list[str]:
    try:
        document = record_document({**fields, "code": code})
        for kind in EXPORT_KINDS.values():
            effective_layout(kind.name, code, kind.fields, document, "plan")
    except LayoutError as exc:
        return [f"plan.{problem}" for problem in exc.problems]
    return []


def put_plan(raw_code: str, request: PlanFields, actor: Item) -> Item:
    """Check the plan whole, then store it; 422 names every problem, nothing is stored."""
    code = _code(raw_code, not_found=False)
    fields = request.model_dump(exclude_none=True)
    problems = column_problems(request.mif_columns) + _layout_problems(code, fields)
    layouts = {"rtf": request.rtf, "otf": request.otf}
    problems += plan_field_problems(request.mif_columns, layouts)
    size = len(orjson.dumps(fields))
    if size > MAX_PLAN_BYTES:
        problems.append(f"plan is {size:,} bytes as JSON; a plan holds {MAX_PLAN_BYTES:,} at most")
    if problems:
        raise ApiError(422, *problems)
    if get_plan(code) is None and has_document(code):
        raise ApiError(
            409,
            f"Plan '{code}' has a layout document in the bucket (config/plans/{code}.json): "
            "migrate it first (make migrate-plans, or ecm.cli migrate-plans), then change "
            "the plan here",
        )
    record = save_plan(code, fields, str(actor.get("user_id") or ""))
    logger.info(
        "plan saved",
        extra={
            "plan": code,
            "mapped_headers": len(request.mif_columns),
            "by": record["updated_by"],
        },
    )
    return {"plan": plan_body(record)}
