"""Grants of the template no test reaches, each with the reason: the one place a grant may
stay unused (devstack.privileges fails on any other, and on an entry a call did use).

``resource`` is written as the privilege check names it: the template's logical id, and what
follows its ARN (``PatientsTable/index/*``, ``FilesBucket/config/*``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Unexercised:
    function: str
    action: str
    resource: str
    reason: str


#: What Lambda's SQS event source mapping does with the function's role besides receiving
#: and deleting (which the local poller does, as the function): it reads the queue's
#: attributes (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html).
_MAPPING = "Lambda's event source mapping reads the queue's attributes; the local poller does not"

UNEXERCISED: tuple[Unexercised, ...] = (
    Unexercised("ImportTriggerFunction", "sqs:GetQueueAttributes", "InboxQueue", _MAPPING),
    Unexercised("WebhookSenderFunction", "sqs:GetQueueAttributes", "WebhookQueue", _MAPPING),
    Unexercised("ExportFunction", "sqs:GetQueueAttributes", "ExportQueue", _MAPPING),
)
