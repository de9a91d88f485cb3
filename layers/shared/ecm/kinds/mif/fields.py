"""The MIF's columns (docs/using/mif-imports.md) and the names health plans use for them (DHCS's
among them).

Headers are matched after normalisation (``ecm.fields.normalize_header``); an alias may fill
several fields ("MCP_CIN" is both MEMBER_ID and CIN). A column none of them names is kept
with its row, as the member's plan fields.
"""

from __future__ import annotations

from ecm.files.fields import FieldMap

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
        "Birthdate": ("DOB",),
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
    look_alikes={"DOB": "birth"},
    keeps_unknown=True,  # the member's plan fields (ecm.kinds.mif.plan_fields)
)
