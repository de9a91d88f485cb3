"""``choices.json``: the closed value sets of the API's bodies, taken from the constants the
API validates against, so a select in the console never offers a value the API refuses."""

from __future__ import annotations

import json
from typing import get_args

from ecm.exports.schemas import ExportCreate
from ecm.kinds.authorization.member_status import MEMBER_STATUSES
from ecm.kinds.authorization.rows import AuthorizationStatus
from ecm.kinds.mif.fields import MIF_FIELDS
from ecm.kinds.values import ACUITY_LEVELS
from ecm.patients.activities import ACTIVITY_METHODS, ACTIVITY_TYPES
from ecm.patients.choices import DISCONTINUATION_REASONS
from ecm.patients.listing import SORTS


def choices_json() -> str:
    """The closed value sets of the API's bodies, for the console's selects."""
    return json.dumps(
        {
            "member_record_status": list(MEMBER_STATUSES),
            "acuity_level": list(ACUITY_LEVELS),
            "authorization_status": [s.value for s in AuthorizationStatus],
            "activity_type": list(ACTIVITY_TYPES),
            "activity_method": list(ACTIVITY_METHODS),
            "mif_field": list(MIF_FIELDS.fields),
            "sort_by": list(SORTS),
            # value -> what the return files say of it, shown as the option's text
            "discontinuation_reason": DISCONTINUATION_REASONS,
            "export_kind": list(get_args(ExportCreate.model_fields["kind"].annotation)),
            "export_format": list(get_args(ExportCreate.model_fields["format"].annotation)),
        },
        sort_keys=True,
    )
