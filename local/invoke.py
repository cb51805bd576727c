"""``make invoke FUNCTION=... EVENT=...``: one function with one event, as ``sam local invoke -e`` does, without Docker.

The function runs in the local cloud (``make serve``'s, against the emulator seeded as for the demo),
so what follows its result runs too: its destinations, the chained functions the lifecycle bus starts,
the runs a webhook hands on. A webhook event (API Gateway payload 2.0, like ``events/*/webhook.json``)
is signed anew with a local secret. Every invocation is printed with its outcome.

    python -m local.invoke modify_instance_maintain_time events/modify_instance_maintain_time/schedule.json
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import sys
import time
import uuid
from pathlib import Path

from alibaba_cloud.delivery.standard_webhooks import decode_secret, sign_headers
from local.cloud import LocalCloud
from local.emulator import EmulatorServer, seed_demo


def logical_id_of(name: str, cloud: LocalCloud) -> str:
    """A function's logical id, from itself or from its folder (``functions/<folder>``)."""
    if name in cloud.specs:
        return name
    for logical_id, spec in cloud.specs.items():
        if spec.code_dir.name == name.strip("/").removeprefix("functions/"):
            return logical_id
    folders = ", ".join(sorted(spec.code_dir.name for spec in cloud.specs.values()))
    raise SystemExit(f"No function {name!r}: give one of {folders} (or its logical id).")


def signed(event: dict, secret: str) -> dict:
    """A payload 2.0 event with its body signed now, as a Standard Webhooks sender would."""
    body = event.get("body") or ""
    raw = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()
    headers = {k: v for k, v in (event.get("headers") or {}).items() if not k.lower().startswith("webhook-")}
    headers.update(sign_headers(decode_secret(secret), f"msg_{uuid.uuid4().hex}", raw))
    return {**event, "headers": headers}


def settle(cloud: LocalCloud, quiet_for: float = 1.0, at_most: float = 120.0) -> None:
    """Wait while invocations keep coming (chains, runs handed on), at most ``at_most`` seconds."""
    seen, last_change, started = len(cloud.invocations), time.monotonic(), time.monotonic()
    while time.monotonic() - started < at_most:
        time.sleep(0.1)
        if len(cloud.invocations) != seen:
            seen, last_change = len(cloud.invocations), time.monotonic()
        elif time.monotonic() - last_change >= quiet_for and len(cloud.lambda_api.received) <= sum(
            r["InvocationType"] == "Event" for r in cloud.invocations
        ):
            return


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Invoke one function of template.yaml with one event, locally, against the emulator.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("function", help="a function's folder (modify_instance_maintain_time) or its logical id")
    parser.add_argument("event", help="a JSON event file, e.g. events/modify_instance_maintain_time/schedule.json")
    parser.add_argument("--verbose", action="store_true", help="the functions' own log lines and EMF metrics too")
    args = parser.parse_args(argv)
    try:
        event = json.loads(Path(args.event).read_text())
    except (OSError, ValueError) as error:
        raise SystemExit(f"Cannot read the event {args.event}: {error}") from None
    if not args.verbose:
        os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    emulator = EmulatorServer(0).start()
    seed_demo(emulator)
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    quiet = {} if args.verbose else {"POWERTOOLS_LOG_LEVEL": "ERROR"}
    cloud = LocalCloud(emulator.url, secret, aws_environment=quiet)
    try:
        logical_id = logical_id_of(args.function, cloud)
        if isinstance(event, dict) and event.get("version") == "2.0" and "requestContext" in event:
            cloud.invoke_http(logical_id, signed(event, secret))
        else:
            cloud.invoke_async(logical_id, event)
        settle(cloud)
        for record in cloud.invocations:
            outcome = record["Outcome"]
            if isinstance(outcome, dict) and isinstance(
                outcome.get("body"), str
            ):  # an HTTP answer: its JSON body shown
                try:
                    outcome = {**outcome, "body": json.loads(outcome["body"])}
                except ValueError:
                    pass
            print(f"== {record['Function']} ({record['InvocationType']})")
            print(json.dumps(outcome, indent=2, ensure_ascii=False))
        for letter in cloud.dead_letters:
            print("== to the OnFailure destination")
            print(json.dumps(letter["responsePayload"], indent=2, ensure_ascii=False))
        return 1 if cloud.dead_letters else 0
    finally:
        cloud.stop()
        emulator.stop()


if __name__ == "__main__":
    sys.exit(main())
