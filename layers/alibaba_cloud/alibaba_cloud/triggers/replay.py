"""Webhook ids already seen, so a delivery runs once however often, and wherever, it is sent again.

Standard Webhooks asks receivers to run a ``webhook-id`` once: a sender whose answer was lost sends
the same id again, and gets the first answer again (2xx, so it stops retrying), with nothing run
again. A cache in one warm container does not do that: two cold starts both run the same delivery,
and an old "cancel" replayed in another container undoes a later "set". So the ids live in a
DynamoDB table shared by every container (``WEBHOOK_REPLAY_TABLE``), each with its body's digest and,
once there is one, its first answer; an in-memory store stands in when no table is configured
(local runs). An id is kept for three tolerance windows: older deliveries are refused by their
timestamp anyway.

A store that cannot be reached fails closed: the delivery is not run, and the sender is told to
retry (503). Before its first request that may change anything is sent, a run *holds* its id for the
whole window (one more write): whatever happens after (its answer cannot be stored, its invocation is
killed), the delivery does not run again. Only a run that provably changed nothing gives its id back:
one refused before sending, or whose every request Alibaba answered with a transient refusal, so the
sender's retry runs it; a first run killed before it sent anything holds its id only until that
invocation's deadline.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ..aws.client import AwsError, AwsJsonClient
from ..aws.dynamodb import DynamoTable
from ..errors import AlibabaCloudError, store_unavailable

MAX_KEPT_ANSWER = 350 * 1024  # a DynamoDB item holds 400 KB; larger first answers are not kept, only their status


@dataclass(frozen=True)
class Prior:
    """A delivery seen before: its first answer, or ``None`` while that first delivery still runs."""

    answer: dict[str, Any] | None
    first_seen: float


def id_reused() -> AlibabaCloudError:
    return AlibabaCloudError(
        "Webhook.IdReused", "This webhook-id was already delivered with another body.", http_status=409
    )


def unavailable(reason: str) -> AlibabaCloudError:
    return store_unavailable(
        "Webhook.ReplayStoreUnavailable",
        f"The store of delivered webhook ids cannot be reached ({reason}); the delivery was not run: send it again.",
    )


def kept(answer: dict[str, Any]) -> dict[str, Any]:
    """The answer as kept: whole when small, else its status alone."""
    if len(answer.get("body") or "") <= MAX_KEPT_ANSWER:
        return answer
    return {"statusCode": answer["statusCode"], "headers": answer.get("headers", {}), "body": None}


def running_until(deadline: float | None, now: float, max_age: float) -> float:
    """Wall-clock time by which a run that claimed an id has answered, or died with its invocation."""
    return now + (max_age if deadline is None else max(0.0, deadline - time.monotonic()) + 1.0)


class ReplayStore(Protocol):
    def claim(self, webhook_id: str, digest: str, deadline: float | None) -> Prior | None: ...
    def settle(self, webhook_id: str, digest: str, answer: dict[str, Any], deadline: float | None) -> None: ...
    def hold(self, webhook_id: str, deadline: float | None) -> None: ...
    def release(self, webhook_id: str, deadline: float | None) -> None: ...


class MemoryReplayStore:
    """One container's ids: bounded in number and age; safe for the threads of a local server."""

    def __init__(self, max_age_seconds: float, max_entries: int = 1024, clock: Callable[[], float] = time.time) -> None:
        self._entries: OrderedDict[str, tuple[float, str, dict | None, float]] = OrderedDict()
        self._max_age, self._max_entries, self._clock = max_age_seconds, max_entries, clock
        self._lock = threading.Lock()

    def claim(self, webhook_id: str, digest: str, deadline: float | None) -> Prior | None:
        with self._lock:
            return self._claim(webhook_id, digest, deadline)

    def _claim(self, webhook_id: str, digest: str, deadline: float | None) -> Prior | None:
        now = self._clock()
        entry = self._entries.get(webhook_id)
        if entry is not None and now - entry[0] <= self._max_age:
            if entry[1] != digest:
                raise id_reused()
            if entry[2] is not None or now <= entry[3]:  # answered, or its run may still answer
                return Prior(entry[2], entry[0])
        self._entries[webhook_id] = (now, digest, None, running_until(deadline, now, self._max_age))
        self._entries.move_to_end(webhook_id)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
        return None

    def settle(self, webhook_id: str, digest: str, answer: dict[str, Any], deadline: float | None) -> None:
        with self._lock:
            first = self._entries.get(webhook_id, (self._clock(), digest, None, 0.0))[0]
            self._entries[webhook_id] = (first, digest, kept(answer), 0.0)

    def hold(self, webhook_id: str, deadline: float | None) -> None:
        with self._lock:
            entry = self._entries.get(webhook_id)
            if entry is not None:
                self._entries[webhook_id] = (*entry[:3], entry[0] + self._max_age)

    def release(self, webhook_id: str, deadline: float | None) -> None:
        with self._lock:
            self._entries.pop(webhook_id, None)


class DynamoReplayStore:
    """The ids in a DynamoDB table (key ``WebhookId``, TTL attribute ``ExpiresAt``), shared by every container."""

    def __init__(
        self, client: AwsJsonClient, table: str, max_age_seconds: float, clock: Callable[[], float] = time.time
    ) -> None:
        self.table, self.max_age, self.clock = DynamoTable(client, table, unavailable), max_age_seconds, clock
        self._call = self.table.call

    def claim(self, webhook_id: str, digest: str, deadline: float | None) -> Prior | None:
        now = self.clock()
        item = {
            "WebhookId": {"S": webhook_id},
            "BodySha256": {"S": digest},
            "FirstSeen": {"N": f"{now:.3f}"},
            "ExpiresAt": {"N": str(int(now + self.max_age))},
            "RunningUntil": {"N": f"{running_until(deadline, now, self.max_age):.3f}"},
        }
        # an expired item may linger until DynamoDB's TTL sweep removes it: it counts as absent; so does
        # an unanswered claim of the same body whose invocation's deadline has passed (it was killed)
        condition = (
            "attribute_not_exists(WebhookId) OR ExpiresAt < :now OR "
            "(attribute_not_exists(Answer) AND RunningUntil < :now AND BodySha256 = :digest)"
        )
        try:
            self._call(
                "PutItem",
                {
                    "Item": item,
                    "ConditionExpression": condition,
                    "ExpressionAttributeValues": {":now": {"N": f"{now:.3f}"}, ":digest": {"S": digest}},
                },
                deadline,
            )
            return None
        except AwsError:
            pass
        prior = self._call("GetItem", {"Key": {"WebhookId": {"S": webhook_id}}, "ConsistentRead": True}, deadline).get(
            "Item"
        )
        if not prior:  # released in between: the sender's retry of a transient failure, racing; let it wait
            return Prior(None, now)
        if prior.get("BodySha256", {}).get("S") != digest:
            raise id_reused()
        answer = json.loads(prior["Answer"]["S"]) if "Answer" in prior else None
        return Prior(answer, float(prior.get("FirstSeen", {}).get("N", now)))

    def settle(self, webhook_id: str, digest: str, answer: dict[str, Any], deadline: float | None) -> None:
        self._call(
            "UpdateItem",
            {
                "Key": {"WebhookId": {"S": webhook_id}},
                "UpdateExpression": "SET Answer = :answer",
                "ExpressionAttributeValues": {":answer": {"S": json.dumps(kept(answer), ensure_ascii=False)}},
            },
            deadline,
        )

    def hold(self, webhook_id: str, deadline: float | None) -> None:
        self._call(
            "UpdateItem",
            {
                "Key": {"WebhookId": {"S": webhook_id}},
                "UpdateExpression": "SET RunningUntil = ExpiresAt",
            },
            deadline,
        )

    def release(self, webhook_id: str, deadline: float | None) -> None:
        self._call("DeleteItem", {"Key": {"WebhookId": {"S": webhook_id}}}, deadline)
