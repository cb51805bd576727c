"""Plans, change records and run statuses, in one DynamoDB table (``RUNS_TABLE``).

The table's keys are ``PK`` and ``SK`` (strings), its TTL attribute ``ExpiresAt``, and its index
``ByInstance`` (``Instance``, ``At``) answers an instance's history. One table holds:

* a plan: ``plan#<PlanId>`` / ``head`` (the event, who asked, when it expires, who applied it) and
  ``part#0000``… (its targets, 1,000 an item, zlib-compressed JSON: a 5,000-target plan is six
  writes, well within DynamoDB's 400 KB an item);
* every change the product made: ``run#<CorrelationId>`` / ``change#<InstanceId>#<At>`` (the value before,
  the value after, Alibaba's RequestId, who asked, when), 25 a ``BatchWriteItem``;
* a run's status: ``run#<CorrelationId>`` / ``status`` (in progress with its plan's counts, or done with
  its result when that fits in an item, else its summary).

Every call goes through the layer's own SigV4 client, as the webhook-id table does.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Iterator
from typing import Any

from ..aws.client import AwsError, AwsJsonClient
from ..aws.dynamodb import DynamoTable
from ..errors import AlibabaCloudError, store_unavailable

PLAN_PART = 1000  # targets an item
MAX_KEPT_RESULT = 300 * 1024  # a status item holds the result below this, else its summary


def unavailable(reason: str) -> AlibabaCloudError:
    return store_unavailable(
        "Runs.StoreUnavailable", f"The table of plans and changes (RUNS_TABLE) cannot be reached ({reason})."
    )


class RunsStore:
    """The table, through a signed DynamoDB client; every ``expires_at`` is epoch seconds (DynamoDB's TTL)."""

    def __init__(self, client: AwsJsonClient, table: str) -> None:
        self.table = DynamoTable(client, table, unavailable)
        self._call = self.table.call

    @property
    def writes(self) -> int:
        """Items written, for the bench's budget."""
        return self.table.writes

    # plans

    def put_plan(
        self,
        plan_id: str,
        head: dict[str, Any],
        targets: list[dict[str, Any]],
        expires_at: float,
        deadline: float | None,
    ) -> None:
        parts = [targets[i : i + PLAN_PART] for i in range(0, len(targets), PLAN_PART)] or [[]]
        items = [
            {"PK": _s(f"plan#{plan_id}"), "SK": _s(f"part#{n:04d}"), "Targets": {"B": _packed(part)}}
            for n, part in enumerate(parts)
        ]
        items.append(
            {"PK": _s(f"plan#{plan_id}"), "SK": _s("head"), "Head": _s(json.dumps({**head, "Parts": len(parts)}))}
        )
        self._batch_write(items, expires_at, deadline)

    def get_plan(self, plan_id: str, deadline: float | None) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        head, targets = None, []
        for item in self._query(f"plan#{plan_id}", deadline):
            if item["SK"]["S"] == "head":
                head = json.loads(item["Head"]["S"])
                if "AppliedBy" in item:
                    head["AppliedBy"] = item["AppliedBy"]["S"]
                head["ExpiresAt"] = float(item["ExpiresAt"]["N"])
            else:
                targets += _unpacked(item["Targets"]["B"])
        return None if head is None else (head, targets)

    def claim_plan(self, plan_id: str, correlation_id: str, deadline: float | None) -> str | None:
        """Mark the plan applied by ``correlation_id``; the run that applied it first if it was already."""
        try:
            self._call(
                "UpdateItem",
                {
                    "Key": {"PK": _s(f"plan#{plan_id}"), "SK": _s("head")},
                    "UpdateExpression": "SET AppliedBy = :by",
                    "ConditionExpression": "attribute_exists(PK) AND attribute_not_exists(AppliedBy)",
                    "ExpressionAttributeValues": {":by": _s(correlation_id)},
                },
                deadline,
            )
            return None
        except AwsError:
            found = self.get_plan(plan_id, deadline)
            return (found[0].get("AppliedBy") if found else None) or "unknown"

    # change records

    def record(
        self, correlation_id: str, changes: list[dict[str, Any]], expires_at: float, deadline: float | None
    ) -> None:
        items = [
            {
                "PK": _s(f"run#{correlation_id}"),
                "SK": _s(f"change#{change['InstanceId']}#{change['At']}"),  # a chain's hops may change it twice
                "Instance": _s(change["InstanceId"]),
                "At": _s(change["At"]),
                "Change": _s(json.dumps(change, ensure_ascii=False)),
            }
            for change in changes
        ]
        self._batch_write(items, expires_at, deadline)

    def changes(self, correlation_id: str, deadline: float | None) -> list[dict[str, Any]]:
        return [
            json.loads(item["Change"]["S"])
            for item in self._query(f"run#{correlation_id}", deadline)
            if item["SK"]["S"].startswith("change#")
        ]

    def history(self, instance_id: str, limit: int, deadline: float | None) -> list[dict[str, Any]]:
        answer = self._call(
            "Query",
            {
                "IndexName": "ByInstance",
                "KeyConditionExpression": "Instance = :instance",
                "ExpressionAttributeValues": {":instance": _s(instance_id)},
                "ScanIndexForward": False,  # newest first
                "Limit": limit,
            },
            deadline,
        )
        return [json.loads(item["Change"]["S"]) for item in answer.get("Items", [])]

    # run statuses

    def put_status(
        self, correlation_id: str, status: dict[str, Any], expires_at: float, deadline: float | None
    ) -> None:
        text = json.dumps(status, ensure_ascii=False)
        if len(text.encode()) > MAX_KEPT_RESULT:
            result = status.get("Result") or {}
            kept = {k: result.get(k) for k in ("Action", "Outcome", "Summary", "CorrelationId") if k in result}
            text = json.dumps({**status, "Result": kept, "ResultTrimmed": True}, ensure_ascii=False)
        item = {"PK": _s(f"run#{correlation_id}"), "SK": _s("status"), "Status": _s(text)}
        self._call("PutItem", {"Item": _expiring(item, expires_at)}, deadline)

    def get_status(self, correlation_id: str, deadline: float | None) -> dict[str, Any] | None:
        answer = self._call(
            "GetItem",
            {"Key": {"PK": _s(f"run#{correlation_id}"), "SK": _s("status")}, "ConsistentRead": True},
            deadline,
        )
        item = answer.get("Item")
        return json.loads(item["Status"]["S"]) if item else None

    # the calls

    def _batch_write(self, items: list[dict[str, Any]], expires_at: float, deadline: float | None) -> None:
        self.table.batch_write([_expiring(item, expires_at) for item in items], deadline)

    def _query(self, pk: str, deadline: float | None) -> Iterator[dict[str, Any]]:
        query = {"KeyConditionExpression": "PK = :pk", "ExpressionAttributeValues": {":pk": _s(pk)}}
        return self.table.query({**query, "ConsistentRead": True}, deadline)


def _expiring(item: dict[str, Any], expires_at: float) -> dict[str, Any]:
    return {**item, "ExpiresAt": {"N": str(int(expires_at))}}


def _s(text: str) -> dict[str, str]:
    return {"S": text}


def _packed(targets: list[dict[str, Any]]) -> str:
    return base64.b64encode(zlib.compress(json.dumps(targets, separators=(",", ":")).encode(), 6)).decode()


def _unpacked(data: str) -> list[dict[str, Any]]:
    raw = zlib.decompressobj().decompress(base64.b64decode(data), 64 * 1024 * 1024)
    value = json.loads(raw)
    return value if isinstance(value, list) else []
