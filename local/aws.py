"""The AWS services the functions call themselves, on 127.0.0.1: moto's server as DynamoDB and SQS.

``make serve`` and the tests start one, create the replay table and the dead-letter queue with the
layer's own SigV4 client (the same code path a deployed function takes), and point the functions
at it through the AWS SDKs' standard ``AWS_ENDPOINT_URL_<SERVICE>`` variables.
"""

from __future__ import annotations

import socket

import local.runtime  # noqa: F401  (puts the layer on the path)
from alibaba_cloud.aws.client import AwsJsonClient, aws_fetcher

REPLAY_TABLE = "lifecycle-webhook-ids"
RUNS_TABLE = "lifecycle-runs"
DEAD_LETTER_QUEUE = "lifecycle-targets-dead-letters"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIDLOCALSTANDIN",
    "AWS_SECRET_ACCESS_KEY": "local-stand-in-secret",
    "AWS_REGION": "us-east-1",
}


# RunsTable of template.yaml: plans, change records and run statuses, with an instance's history as an index
RUNS_TABLE_DEFINITION = {
    "TableName": RUNS_TABLE,
    "BillingMode": "PAY_PER_REQUEST",
    "AttributeDefinitions": [
        {"AttributeName": "PK", "AttributeType": "S"},
        {"AttributeName": "SK", "AttributeType": "S"},
        {"AttributeName": "Instance", "AttributeType": "S"},
        {"AttributeName": "At", "AttributeType": "S"},
    ],
    "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": "ByInstance",
            "KeySchema": [
                {"AttributeName": "Instance", "KeyType": "HASH"},
                {"AttributeName": "At", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }
    ],
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class AwsStandIn:
    def __init__(self, port: int = 0) -> None:
        from moto.server import ThreadedMotoServer  # test and local dependency only

        self.port = port or _free_port()
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.queue_url: str | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        """What a function needs to use this stand-in, as it would use AWS."""
        env = {
            **CREDENTIALS,
            "AWS_ENDPOINT_URL_DYNAMODB": self.url,
            "AWS_ENDPOINT_URL_SQS": self.url,
            "WEBHOOK_REPLAY_TABLE": REPLAY_TABLE,
            "RUNS_TABLE": RUNS_TABLE,
        }
        if self.queue_url:
            env["TARGETS_DEAD_LETTER_QUEUE_URL"] = self.queue_url
        return env

    def client(self, service: str, target_prefix: str) -> AwsJsonClient:
        return AwsJsonClient.from_env(service, target_prefix, aws_fetcher(), env=self.environment())

    def start(self) -> AwsStandIn:
        import logging

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every request otherwise
        self.server.start()
        self.prepare()
        return self

    def reset(self) -> None:
        """Empty every table and queue (moto's state is one per process), then make ours again."""
        import requests

        requests.post(f"{self.url}/moto-api/reset", timeout=5).raise_for_status()
        self.prepare()

    def prepare(self) -> None:
        self.client("dynamodb", "DynamoDB_20120810").call(
            "CreateTable",
            {
                "TableName": REPLAY_TABLE,
                "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": [{"AttributeName": "WebhookId", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "WebhookId", "KeyType": "HASH"}],
            },
            None,
        )
        self.client("dynamodb", "DynamoDB_20120810").call("CreateTable", RUNS_TABLE_DEFINITION, None)
        self.queue_url = self.client("sqs", "AmazonSQS").call("CreateQueue", {"QueueName": DEAD_LETTER_QUEUE}, None)[
            "QueueUrl"
        ]

    def dead_letters(self) -> list[dict]:
        answer = self.client("sqs", "AmazonSQS").call(
            "ReceiveMessage",
            {"QueueUrl": self.queue_url, "MaxNumberOfMessages": 10, "MessageAttributeNames": ["All"]},
            None,
        )
        return answer.get("Messages", [])

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> AwsStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
