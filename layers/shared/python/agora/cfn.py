"""Answers to CloudFormation custom resource requests (the deploy steps that run as functions)."""

from __future__ import annotations

import json
import urllib.request
from typing import Any


def respond(
    event: dict[str, Any],
    context: Any,
    status: str,
    *,
    physical_id: str,
    data: dict[str, str] | None = None,
    reason: str = "",
) -> None:
    """PUT the outcome to the request's pre-signed URL; CloudFormation waits for nothing else."""
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason or f"see {getattr(context, 'log_group_name', 'the function logs')}",
            "PhysicalResourceId": physical_id,
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "Data": data or {},
        }
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - CloudFormation's pre-signed https URL
        event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": ""}
    )
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310
        pass
