"""One DynamoDB table through the layer's signed JSON client: every failure but a condition that did not
hold becomes the caller's own error (the store it backs cannot be reached), named by its AWS code."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from .client import AwsError, AwsJsonClient

BATCH_WRITE = 25  # DynamoDB's most items a BatchWriteItem
MAX_QUERY_PAGES = 100


class DynamoTable:
    def __init__(self, client: AwsJsonClient, name: str, unavailable: Callable[[str], Exception]) -> None:
        self.client, self.name, self.unavailable = client, name, unavailable
        self.writes = 0  # items written (a bench counts them)
        self.reads = 0  # GetItem and Query calls

    def call(self, operation: str, payload: dict[str, Any], deadline: float | None) -> dict[str, Any]:
        """``ConditionalCheckFailedException`` is raised as the AwsError it is; anything else as unavailable."""
        self.reads += operation in ("GetItem", "Query")
        try:
            answer = self.client.call(operation, {"TableName": self.name, **payload}, deadline)
        except AwsError as error:
            if error.code == "ConditionalCheckFailedException":
                raise
            raise self.unavailable(error.code) from None
        self.writes += operation in ("PutItem", "UpdateItem", "DeleteItem")  # a batch counts its items itself
        return answer

    def batch_write(self, items: list[dict[str, Any]], deadline: float | None) -> None:
        """Every item put, 25 a call; those DynamoDB hands back under load are sent again, a bounded number of times."""
        for start in range(0, len(items), BATCH_WRITE):
            pending = [{"PutRequest": {"Item": item}} for item in items[start : start + BATCH_WRITE]]
            for _ in range(5):
                answer = self.call("BatchWriteItem", {"RequestItems": {self.name: pending}}, deadline)
                self.writes += len(pending)
                pending = answer.get("UnprocessedItems", {}).get(self.name, [])
                if not pending:
                    break
            else:
                raise self.unavailable("UnprocessedItems")

    def query(self, payload: dict[str, Any], deadline: float | None) -> Iterator[dict[str, Any]]:
        """Every item a query matches, page by page (a bounded number of pages)."""
        payload = dict(payload)
        for _ in range(MAX_QUERY_PAGES):
            answer = self.call("Query", payload, deadline)
            yield from answer.get("Items", [])
            last = answer.get("LastEvaluatedKey")
            if not last:
                return
            payload["ExclusiveStartKey"] = last
        raise self.unavailable("too many pages")
