"""The tables of template.yaml as pynamodb models: one place that says what each item is.

The API side reads and writes through these models; the import stages' bulk calls keep
items in DynamoDB's attribute-value form (ecm.store), tested equal to the models'
serialisation (tests/unit/test_models.py).
"""

from __future__ import annotations

from ecm.models.authorizations import Authorization
from ecm.models.base import MODELS, TableModel, create_tables, drop_connections
from ecm.models.exports import ExportRecord
from ecm.models.files import ImportFile
from ecm.models.meta import IdempotencyRecord, MetaItem
from ecm.models.patients import Patient, PatientKey
from ecm.models.people import Provider, User
from ecm.models.plans import PlanRecord
from ecm.models.records import Activity, AuditEntry

__all__ = [
    "MODELS",
    "Activity",
    "AuditEntry",
    "Authorization",
    "ExportRecord",
    "IdempotencyRecord",
    "ImportFile",
    "MetaItem",
    "Patient",
    "PatientKey",
    "PlanRecord",
    "Provider",
    "TableModel",
    "User",
    "create_tables",
    "drop_connections",
]
