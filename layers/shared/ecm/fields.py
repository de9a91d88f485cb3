"""Field maps: the seed's column names, the aliases health plans really use, and header mapping.

Headers are compared after normalisation (case, spaces, punctuation), so "Member First Name",
"MEMBER_FIRST_NAME" and " member first name " are one header.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def normalize_header(name: object) -> str:
    text = "" if name is None else str(name)
    return _NON_ALNUM.sub(" ", text.replace("\ufeff", "").lower()).strip()


@dataclass(frozen=True)
class FieldMap:
    """Canonical fields of one file kind with their aliases.

    ``aliases`` maps an alias to every field it fills: "MCP_CIN" is both MEMBER_ID and CIN.
    """

    kind: str
    fields: tuple[str, ...]
    required: tuple[str, ...]
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        lookup: dict[str, tuple[str, ...]] = {normalize_header(f): (f,) for f in self.fields}
        for alias, targets in self.aliases.items():
            lookup[normalize_header(alias)] = targets
        object.__setattr__(self, "_lookup", lookup)

    def resolve(self, header: object) -> tuple[str, ...]:
        lookup: dict[str, tuple[str, ...]] = self._lookup  # type: ignore[attr-defined]
        return lookup.get(normalize_header(header), ())


@dataclass
class ColumnPlan:
    """Which column index feeds which field, plus what the header row told us."""

    columns: list[tuple[int, str]]
    warnings: list[str]
    missing_required: list[str]


def plan_columns(field_map: FieldMap, headers: Sequence[object]) -> ColumnPlan:
    seen: dict[str, int] = {}
    # Fields filled by an alias that fills several fields (MCP_CIN): an explicit column wins.
    shared: set[str] = set()
    warnings: list[str] = []
    for index, header in enumerate(headers):
        if header is None or str(header).strip() == "":
            continue
        targets = field_map.resolve(header)
        if not targets:
            warnings.append(f"Unknown column '{str(header).strip()}' ignored")
            continue
        explicit = len(targets) == 1
        for target in targets:
            if target in seen:
                # An explicit column wins over an alias that fills several fields (MCP_CIN),
                # whichever comes first.
                if explicit and target in shared:
                    shared.discard(target)
                    seen[target] = index
                elif explicit:
                    warnings.append(
                        f"Column '{str(header).strip()}' repeats {target}; column "
                        f"{seen[target] + 1} is used"
                    )
                continue
            seen[target] = index
            if not explicit:
                shared.add(target)
    columns = sorted(((index, target) for target, index in seen.items()), key=lambda c: c[0])
    missing = [f for f in field_map.required if f not in seen]
    return ColumnPlan(columns=columns, warnings=warnings, missing_required=missing)


def unknown_header_warnings(field_map: FieldMap, headers: Iterable[str]) -> list[str]:
    return [f"Unknown column '{h}' ignored" for h in headers if not field_map.resolve(h)]


MIF_FIELDS = FieldMap(
    kind="mif",
    fields=(
        "MEMBER_ID",
        "CIN",
        "FIRST_NAME",
        "LAST_NAME",
        "DOB",
        "GENDER",
        "ADDRESS",
        "CITY",
        "STATE",
        "ZIP",
        "PHONE",
        "ECM_SERVICE_AUTH_ID",
        "ECM_PROVIDER_NAME",
        "ECM_NPI",
        "ECM_BENEFIT_AUTH_EFF_DATE",
        "ECM_BENEFIT_AUTH_END_DATE",
        "ACUITY_LEVEL",
    ),
    required=("MEMBER_ID", "FIRST_NAME", "LAST_NAME"),
    aliases={
        "Member ID": ("MEMBER_ID",),
        "Member Client Index Number (CIN)": ("MEMBER_ID", "CIN"),
        "Medi-Cal Member Client Index Number (CIN)": ("MEMBER_ID", "CIN"),
        "MCP_CIN": ("MEMBER_ID", "CIN"),
        "Client Index Number": ("CIN",),
        "Member First Name": ("FIRST_NAME",),
        "Member Last Name": ("LAST_NAME",),
        "Date of Birth": ("DOB",),
        "Birth Date": ("DOB",),
        "Member Date of Birth": ("DOB",),
        "Member DOB": ("DOB",),
        "Sex": ("GENDER",),
        "Member Gender Code": ("GENDER",),
        "Member Gender": ("GENDER",),
        "Member Sex": ("GENDER",),
        "Member Residential Address": ("ADDRESS",),
        "Street Address": ("ADDRESS",),
        "Address Line 1": ("ADDRESS",),
        "Member Residential City": ("CITY",),
        "Member Residential State": ("STATE",),
        "Zip Code": ("ZIP",),
        "Zipcode": ("ZIP",),
        "Member Residential Zip Code": ("ZIP",),
        "Phone Number": ("PHONE",),
        "Primary Phone Number": ("PHONE",),
        "Member Phone Number": ("PHONE",),
        "ECM Provider Name": ("ECM_PROVIDER_NAME",),
        "ECM Provider National Provider Identifier (NPI)": ("ECM_NPI",),
        "ECM Provider NPI": ("ECM_NPI",),
        "ECM Benefit Authorization Effective Date": ("ECM_BENEFIT_AUTH_EFF_DATE",),
        "ECM Benefit Authorization End Date": ("ECM_BENEFIT_AUTH_END_DATE",),
        "ECM Service Authorization ID": ("ECM_SERVICE_AUTH_ID",),
        "Member Acuity Level": ("ACUITY_LEVEL",),
        "Acuity": ("ACUITY_LEVEL",),
    },
)

#: Human names used in messages, as the seed words them ("Member ID can't be blank").
MIF_LABELS = {
    "MEMBER_ID": "Member ID",
    "CIN": "CIN",
    "FIRST_NAME": "First name",
    "LAST_NAME": "Last name",
    "DOB": "DOB",
    "GENDER": "Gender",
    "ADDRESS": "Address",
    "CITY": "City",
    "STATE": "State",
    "ZIP": "ZIP",
    "PHONE": "Phone",
    "ECM_SERVICE_AUTH_ID": "ECM service auth ID",
    "ECM_PROVIDER_NAME": "ECM provider name",
    "ECM_NPI": "ECM NPI",
    "ECM_BENEFIT_AUTH_EFF_DATE": "ECM_BENEFIT_AUTH_EFF_DATE",
    "ECM_BENEFIT_AUTH_END_DATE": "ECM_BENEFIT_AUTH_END_DATE",
    "ACUITY_LEVEL": "Acuity level",
}


AUTHORIZATION_FIELDS = FieldMap(
    kind="authorization",
    fields=(
        "AUTH_NO",
        "AUTH_TYPE",
        "AUTH_DESCRIPTION",
        "MEMBER_ID",
        "MEMBER_NAME",
        "AUTHORIZATION_TYPE",
        "STATUS",
        "REQUESTING_PROVIDER",
        "SERVICING_PROVIDER",
        "RECEIVED_DATE",
        "DECISION_DATE",
        "START_DATE",
        "EXPIRATION_DATE",
        "CONTACT_NAME",
        "REMARKS",
    ),
    required=("AUTH_NO", "MEMBER_ID"),
    aliases={
        "Auth No": ("AUTH_NO",),
        "Auth Number": ("AUTH_NO",),
        "Auth #": ("AUTH_NO",),
        "Authorization No": ("AUTH_NO",),
        "Authorization Number": ("AUTH_NO",),
        "Authorization ID": ("AUTH_NO",),
        "Auth Type Code": ("AUTH_TYPE",),
        "Auth Desc": ("AUTH_DESCRIPTION",),
        "Authorization Description": ("AUTH_DESCRIPTION",),
        "Description": ("AUTH_DESCRIPTION",),
        "Member CIN": ("MEMBER_ID",),
        "CIN": ("MEMBER_ID",),
        "Member Client Index Number (CIN)": ("MEMBER_ID",),
        "MCP_CIN": ("MEMBER_ID",),
        "Member Full Name": ("MEMBER_NAME",),
        "Patient Name": ("MEMBER_NAME",),
        "Form": ("AUTHORIZATION_TYPE",),
        "Form Type": ("AUTHORIZATION_TYPE",),
        "Auth Status": ("STATUS",),
        "Authorization Status": ("STATUS",),
        "Requesting Provider Name": ("REQUESTING_PROVIDER",),
        "Servicing Provider Name": ("SERVICING_PROVIDER",),
        "Date Received": ("RECEIVED_DATE",),
        "Received": ("RECEIVED_DATE",),
        "Decision Date": ("DECISION_DATE",),
        "Date of Decision": ("DECISION_DATE",),
        "Effective Date": ("START_DATE",),
        "Auth Start Date": ("START_DATE",),
        "Expiration": ("EXPIRATION_DATE",),
        "End Date": ("EXPIRATION_DATE",),
        "Auth End Date": ("EXPIRATION_DATE",),
        "Contact": ("CONTACT_NAME",),
        "Comments": ("REMARKS",),
        "Notes": ("REMARKS",),
    },
)
