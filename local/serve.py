"""``make serve``: the application in template.yaml, running on this machine against the emulator.

* every ``HttpApi`` route is served on 127.0.0.1, each request turned into a payload 2.0 event;
* every ``ScheduleV2`` fires on demand (``POST /_local/schedules/<Function>/<Event>``), and on its
  cron with ``--cron`` (enabled schedules; ``--all-schedules`` for disabled ones too), its Input's
  ``<aws.scheduler.*>`` attributes filled in;
* results of scheduled and chained (asynchronous) invocations go to their destinations: on success
  to the local bus, whose ``EventBridgeRule`` subscribers run with their ``InputPath``; on failure
  to the local dead-letter list (``GET /_local/dead-letters``).

Webhook chains need nothing more: a function's ``NotifyUrls`` may name these routes. The pieces:
:mod:`local.cloud` (the functions and the glue between them), :mod:`local.http_api` (the routes),
:mod:`local.aws` (DynamoDB and SQS), :mod:`local.emulator` (Alibaba Cloud); this module is the CLI.
"""

from __future__ import annotations

import argparse
import base64
import errno
import os
import secrets
import threading
import time
from datetime import UTC, datetime

from alibaba_cloud.config import ConfigurationError
from alibaba_cloud.delivery.standard_webhooks import parse_secrets
from local.aws import REPLAY_TABLE, AwsStandIn
from local.cloud import LocalCloud
from local.emulator import EmulatorServer, seed_demo
from local.http_api import GatewayServer
from local.sts_api import federate


def taken(error: Exception, option: str, port: int) -> str:
    """One line for a port in use (the common case), else the error itself."""
    if isinstance(error, OSError) and error.errno == errno.EADDRINUSE:
        return f"Port {port} is taken: pick another with SERVE_ARGS='{option} {port + 1}'."
    return f"make serve cannot start: {error}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Serve template.yaml's routes and schedules locally, against the emulator.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--port", type=int, default=3000, help="the HTTP API's port on 127.0.0.1")
    parser.add_argument("--emulator-port", type=int, default=8080, help="the Alibaba Cloud emulator's port")
    parser.add_argument("--cron", action="store_true", help="fire enabled schedules on their expressions")
    parser.add_argument("--all-schedules", action="store_true", help="with --cron, disabled schedules too")
    parser.add_argument(
        "--verbose", action="store_true", help="the functions' own log lines and EMF metrics, not one line each"
    )
    args = parser.parse_args(argv)
    if not args.verbose:  # one line an invocation; the functions' logs and metrics with --verbose
        os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    # $WEBHOOK_SECRET, when it is set, is kept: callers signing with it need not change after a restart
    webhook_secret = os.environ.get("WEBHOOK_SECRET") or "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    try:
        parse_secrets(webhook_secret)
        emulator = EmulatorServer(args.emulator_port).start()
    except (ConfigurationError, OSError) as error:
        raise SystemExit(taken(error, "--emulator-port", args.emulator_port)) from None
    seed_demo(emulator)
    aws = AwsStandIn().start()  # the webhook-id table and the dead-letter queue, as DynamoDB and SQS
    report = None if args.verbose else (lambda line: print(f"{datetime.now(UTC):%H:%M:%S} {line}", flush=True))
    quiet = {} if args.verbose else {"POWERTOOLS_LOG_LEVEL": "ERROR"}
    # no Alibaba key: each function's AWS role is vouched for by AWS STS's stand-in, as AlibabaCredentials=oidc
    aws_env = aws.environment()
    aws_sts, role_env = federate(
        emulator, aws_env["AWS_ACCESS_KEY_ID"], aws_env["AWS_SECRET_ACCESS_KEY"], "arn:aws:iam::123456789012:role/local"
    )
    cloud = LocalCloud(emulator.url, webhook_secret, aws_environment={**aws_env, **quiet, **role_env}, report=report)
    try:
        gateway = GatewayServer(cloud, args.port).start()
    except OSError as error:
        aws.stop()
        emulator.stop()
        raise SystemExit(taken(error, "--port", args.port)) from None
    stop = threading.Event()
    if args.cron:
        threading.Thread(target=cloud.run_cron, args=(stop, args.all_schedules), daemon=True).start()
    print(f"Alibaba Cloud emulator: {emulator.url}   (state: {emulator.url}/_emulator/instances)")
    print(f"Webhook secret:         {webhook_secret}   (keep it across restarts: export WEBHOOK_SECRET=... first)")
    print(f"AWS STS (role tokens):  {aws_sts.url}   (no Alibaba key: AssumeRoleWithOIDC at the emulator)")
    print(f"DynamoDB and SQS:       {aws.url}   (webhook ids: table {REPLAY_TABLE}; dead letters: {aws.queue_url})")
    for (method, path), logical_id in cloud.routes.items():
        print(f"Route:    {method} {gateway.url}{path} -> {logical_id}")
    now = datetime.now(UTC)
    for logical_id, name, schedule in cloud.schedules(include_disabled=True):
        state = cloud.specs[logical_id].schedules[name].get("State", "ENABLED")
        fires = args.cron and (state == "ENABLED" or args.all_schedules)
        if fires:
            at = schedule.next_fire(now)
            when = f"next at {at:%Y-%m-%d %H:%M} UTC" if at else "not within a week"
        else:
            when = "fired by --cron" if state == "ENABLED" else "fired by --cron --all-schedules"
        print(
            f"Schedule: {state:8} {schedule.expression} -> {logical_id}/{name}  ({when}; now: "
            f"curl -X POST {gateway.url}/_local/schedules/{logical_id}/{name})"
        )
    print(
        f'\nTry:\n  export WEBHOOK_SECRET={webhook_secret}\n  eval "$(python -m local.sign --body '
        f'\'{{"InstanceId": "r-bp1zxszhcgatnx2demo", "MaintainStartTime": "04:00Z", "MaintainEndTime": "05:00Z"}}\' '
        f'--curl {gateway.url}/redis/maintain-time)"\n\nCtrl-C stops.',
        flush=True,
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        gateway.stop()
        aws.stop()
        emulator.stop()


if __name__ == "__main__":
    main()
