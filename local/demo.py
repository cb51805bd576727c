"""``make demo``: the functions, through both triggers, against the local Alibaba Cloud emulator.

Starts the emulator on 127.0.0.1, invokes the maintenance-window function with a scheduled event
and the auto-release function with a signed webhook (then shows three refusals, one of them an
instance with release protection), then runs the TTL-by-tag policy on the emulator's tagged dev
fleet: the plan (DryRun), a run refused by its change cap, the apply (the protected instance
skipped), and a second run with nothing left to change; then the change-management flow (a plan
kept under a PlanId, an instance tagged before the apply and Drifted, the apply, an Undo). No
Alibaba key is stored anywhere: every call is signed with STS credentials the functions' own AWS
role gets (AlibabaCredentials=oidc, against stand-ins of both clouds' STS). Prints what was sent,
the results and the instances' state.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import uuid
from datetime import UTC, datetime, timedelta

import requests

from alibaba_cloud.delivery.standard_webhooks import decode_secret, sign_headers  # noqa: E402  (the layer, put on the path by local.runtime)
from alibaba_cloud.errors import AlibabaCloudError
from local.aws import AwsStandIn
from local.emulator import EmulatorServer, seed_demo
from local.runtime import LambdaContext, environment, load_function, sample_event
from local.sts_api import StsStandIn, federate


def show(title: str, value: object) -> None:
    print(f"\n== {title}")
    print(json.dumps(value, indent=2, ensure_ascii=False))


def signed_webhook(function: str, body: dict, secret: str) -> dict:
    event = sample_event(function, "webhook")
    raw = json.dumps(body)
    event["body"] = raw
    event["headers"].update(sign_headers(decode_secret(secret), f"msg_{uuid.uuid4().hex}", raw.encode()))
    event["requestContext"]["requestId"] = uuid.uuid4().hex[:16]
    return event


def ttl_by_tag(release, emulator: EmulatorServer) -> None:
    """The TTL policy as one schedule Input: every dev instance released its ttl tag after creation."""
    policy = {
        **sample_event("modify_instance_auto_release_time", "schedule-ttl-by-tag"),
        "ScheduledTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    show("TTL by tag: the schedule's Input", policy)
    print(
        "\nThe fleet: five dev instances with a ttl tag, one subscription instance (skipped: no automatic\n"
        "release for it), and i-bp1devbadttl00demo, whose ttl tag says 'eight hours', not an ISO 8601\n"
        "duration: it fails alone, every run, with InvalidAutoReleaseAfter.Malformed, and is never written,\n"
        "until its tag is fixed (the others are not held up by it). i-bp1devprotect0demo has release\n"
        "protection on, which does not stop an automatic release: it is Protected, never given one."
    )
    capped = {**policy, "RateControl": {**policy.get("RateControl", {}), "MaxChanges": 2}}
    for title, event in (
        ("1. The plan (DryRun: nothing is written)", {**policy, "DryRun": True}),
        ("2. The apply, capped at 2 changes (RateControl.MaxChanges): refused, nothing written", capped),
        ("3. The apply", policy),
        ("4. The next run: every well-tagged target Unchanged, no write; the mis-tagged one fails again", policy),
    ):
        writes = len(emulator.state.writes)
        try:
            result = release.lambda_handler(event, LambdaContext("modify-instance-auto-release-time"))
        except AlibabaCloudError as error:  # what Lambda reports for a failed invocation
            result = {"Outcome": "Failed", "Error": str(error)}
        written = len(emulator.state.writes) - writes
        show(
            f"{title}: {written} writes",
            {
                k: result[k]
                for k in ("Outcome", "Error", "Summary", "Selection", "NotSucceeded", "Targets")
                if k in result
            },
        )


def change_management(release, emulator: EmulatorServer) -> None:
    """Plan, approve, apply, undo: a plan kept under a PlanId, an instance tagged between the plan and
    its apply (Drifted, not written), the apply, then an Undo that puts every release time back."""
    policy = {"Select": {"Tags": {"env": "dev", "ttl": None}}, "AutoReleaseAfter": "P2D"}
    before = {i: emulator.state.instances[i].AutoReleaseTime for i in emulator.state.instances if "devfleet" in i}
    plan = release.lambda_handler({**policy, "DryRun": True}, LambdaContext("modify-instance-auto-release-time"))
    show(
        "Change management, 1. the plan: every dev instance released in two days (DryRun)",
        {k: plan[k] for k in ("PlanId", "PlanExpiresAt", "Summary")},
    )
    emulator.state.instances["i-bp1devfleet02demo"].Tags["owner"] = "alice"  # someone tags it meanwhile
    print("\nBetween the plan and its approval, i-bp1devfleet02demo is tagged owner=alice.")
    applied = release.lambda_handler({"Apply": plan["PlanId"]}, LambdaContext("modify-instance-auto-release-time"))
    show(
        "2. Apply the approved plan: the re-tagged instance is Drifted, not written",
        {
            "Summary": applied["Summary"],
            "Records": applied.get("Records"),
            "Drifted": [t for t in applied.get("Targets", []) if t["Outcome"] == "Drifted"],
            "CorrelationId": applied["CorrelationId"],
        },
    )
    undone = release.lambda_handler(
        {"Undo": applied["CorrelationId"]}, LambdaContext("modify-instance-auto-release-time")
    )
    after = {i: emulator.state.instances[i].AutoReleaseTime for i in before}
    show(
        "3. Undo that run: every release time it changed is put back",
        {"Summary": undone["Summary"], "Back as before": after == before},
    )
    history = load_function("describe_ecs_instances").lambda_handler(
        {"History": "i-bp1devfleet00demo"}, LambdaContext("describe-ecs-instances")
    )
    show(
        "4. The history of i-bp1devfleet00demo (newest first)",
        [{k: c[k] for k in ("At", "Before", "After", "CorrelationId")} for c in history["Changes"]],
    )


ROLE = "arn:aws:iam::123456789012:role/lifecycle-FunctionRole"


def no_stored_key(emulator: EmulatorServer, aws_sts: StsStandIn) -> None:
    """What signed every call above: no Alibaba key, STS credentials from the functions' own AWS role."""
    exchanges = [r for r in emulator.state.received if r.Action == "AssumeRoleWithOIDC"]
    show(
        "No stored key: every call above was signed with STS credentials from the functions' own AWS role",
        {
            "The token AWS STS issued": {k: aws_sts.issued[-1][k] for k in ("iss", "sub", "aud")},
            "Exchanged at Alibaba STS (AssumeRoleWithOIDC, anonymous)": f"{len(exchanges)} times, once per function",
            "Keys that signed the writes": sorted({(r.AccessKeyId or "")[:4] + "****" for r in emulator.state.writes}),
        },
    )


def main() -> None:
    webhook_secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    with EmulatorServer() as emulator, AwsStandIn() as aws:  # moto's DynamoDB keeps plans and change records
        seed_demo(emulator)
        print(f"Alibaba Cloud emulator listening on {emulator.url}")
        # no Alibaba key anywhere: the functions' AWS role is vouched for by AWS STS's stand-in, and the
        # emulator's Alibaba STS exchanges its token (AlibabaCredentials=oidc)
        aws_env = aws.environment()
        aws_sts, role_env = federate(emulator, aws_env["AWS_ACCESS_KEY_ID"], aws_env["AWS_SECRET_ACCESS_KEY"], ROLE)
        env = {
            "ALIBABA_CLOUD_ENDPOINT": emulator.url,
            "ALIBABA_CLOUD_REGION_ID": "cn-hangzhou",
            "WEBHOOK_SECRET": webhook_secret,
            "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "ERROR"),  # results, not log lines
            "POWERTOOLS_METRICS_DISABLED": "true",
            **aws_env,
            **role_env,
        }
        with environment(env):
            maintain = load_function("modify_instance_maintain_time")
            release = load_function("modify_instance_auto_release_time")

            scheduled = sample_event("modify_instance_maintain_time", "schedule")
            show("Scheduled event -> ModifyInstanceMaintainTime", scheduled)
            show("Result", maintain.lambda_handler(scheduled, LambdaContext("modify-instance-maintain-time")))

            release_at = (datetime.now(UTC) + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M:%SZ")
            for title, body in (
                (
                    "Signed webhook -> ModifyInstanceAutoReleaseTime",
                    {"InstanceId": "i-bp1env7nl3mijm2demo", "RegionId": "cn-hangzhou", "AutoReleaseTime": release_at},
                ),
                (
                    "Signed webhook for a subscription instance",
                    {"InstanceId": "i-bp1subscription2demo", "AutoReleaseTime": release_at},
                ),
                (
                    "Signed webhook for an instance with release protection on",
                    {"InstanceId": "i-bp1devprotect0demo", "AutoReleaseTime": release_at},
                ),
            ):
                show(title, body)
                answer = release.lambda_handler(
                    signed_webhook("modify_instance_auto_release_time", body, webhook_secret),
                    LambdaContext("modify-instance-auto-release-time"),
                )
                show(f"HTTP {answer['statusCode']}", json.loads(answer["body"]))

            bad_window = {
                "InstanceId": "r-bp1zxszhcgatnx2demo",
                "MaintainStartTime": "23:30Z",
                "MaintainEndTime": "01:30Z",
            }
            show("Scheduled event with a two-hour window", bad_window)
            try:
                maintain.lambda_handler(bad_window, LambdaContext("modify-instance-maintain-time"))
            except Exception as error:  # what Lambda reports for a failed invocation
                print(f"{type(error).__name__}: {error}")

            ttl_by_tag(release, emulator)
            change_management(release, emulator)
        no_stored_key(emulator, aws_sts)
        aws_sts.stop()

        state = requests.get(f"{emulator.url}/_emulator/instances", timeout=5).json()
        show(
            "Emulator instance state",
            {
                k: {"AutoReleaseTime": v["AutoReleaseTime"]}
                if v["Product"] == "Ecs"
                else {"MaintainWindow": f"{v['MaintainStartTime']}-{v['MaintainEndTime']}"}
                for k, v in state.items()
            },
        )
    print("\nEmulator stopped.")


if __name__ == "__main__":
    main()
