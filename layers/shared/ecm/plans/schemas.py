"""The bodies of the plan routes, as pydantic models (the OpenAPI document's source)."""

from __future__ import annotations

from pydantic import Field

from ecm.api.schemas import Envelope, RequestBody, ResponseBody
from ecm.exports.layouts import KindLayout

COLUMNS_DESCRIPTION = (
    "The plan's own MIF headers: each header as it appears in the plan's files (case, "
    "spaces and punctuation do not count) mapped to the MIF field it fills. Read before "
    "the names we ship, so a header mapped once imports in every later file of the plan"
)
LAYOUT_DESCRIPTION = (
    "The plan's changes to the DHCS template layout of this return file "
    "(docs/return-files.md, Per-plan layouts); null: the template as it is"
)


class PlanFields(RequestBody):
    """A plan as a PUT stores it, whole: what it leaves out takes its default."""

    name: str = Field(min_length=1, max_length=200, description="The plan's name, as shown")
    mif_columns: dict[str, str] = Field(default_factory=dict, description=COLUMNS_DESCRIPTION)
    full_roster: bool = Field(
        True, description="Whether each MIF of the plan lists every member it assigns us"
    )
    mcp_name: str = Field("", max_length=200, description="Written in the return files")
    mcp_identifier: str = Field("", max_length=50, description="Written in the return files")
    rtf: KindLayout | None = Field(None, description=LAYOUT_DESCRIPTION)
    otf: KindLayout | None = Field(None, description=LAYOUT_DESCRIPTION)


class PlanRequest(Envelope):
    """Create or replace a plan."""

    plan: PlanFields


class Plan(ResponseBody):
    """A health plan: how its MIFs are read and how its return files are written."""

    code: str = Field(description="The plan's code, in lower case, as files and exports name it")
    name: str
    mif_columns: dict[str, str]
    full_roster: bool
    mcp_name: str
    mcp_identifier: str
    rtf: KindLayout | None
    otf: KindLayout | None
    created_at: str
    updated_at: str
    updated_by: str | None


class PlanBody(ResponseBody):
    plan: Plan


class PlanList(ResponseBody):
    plans: list[Plan]
