"""template.yaml as CloudFormation sees it: linted, and transformed by the SAM translator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from samtranslator.translator.transform import transform

from alibaba_cloud.errors import AlibabaCloudError
from local import template as local_template

ROOT = Path(__file__).resolve().parent.parent


class _NoManagedPolicies:
    def load(self):
        return {}


@pytest.fixture(scope="module")
def template():
    return local_template.load()


@pytest.fixture(scope="module")
def resources(template, monkeypatch_module):
    monkeypatch_module.setenv("AWS_DEFAULT_REGION", "us-east-1")
    sam = json.loads(json.dumps(template))
    for resource in sam["Resources"].values():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str):
                props[key] = f"s3://bucket/{props[key].strip('/')}.zip"
    return transform(sam, {}, _NoManagedPolicies())["Resources"]


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def of_type(resources, kind):
    return {name: r for name, r in resources.items() if r["Type"] == kind}


def test_cfn_lint_has_no_findings():
    result = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), str(ROOT / "template.yaml")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


FUNCTIONS = 4  # two modify actions, two inventories


def test_one_layer_shared_by_every_function(resources):
    layers = of_type(resources, "AWS::Lambda::LayerVersion")
    functions = of_type(resources, "AWS::Lambda::Function")
    assert len(layers) == 1
    assert len(functions) == FUNCTIONS
    (layer_name,) = layers
    assert layers[layer_name]["Properties"]["CompatibleRuntimes"] == ["python3.12"]
    for function in functions.values():
        props = function["Properties"]
        assert props["Runtime"] == "python3.12"
        assert props["Architectures"] == ["arm64"]
        assert props["Handler"] == "app.lambda_handler"
        assert {"Ref": layer_name} in props["Layers"]
        env = props["Environment"]["Variables"]
        assert "ALIBABA_CLOUD_CREDENTIALS_SECRET_ID" in env
        assert "WEBHOOK_SECRET_ID" in env
        assert env["POWERTOOLS_LOGGER_LOG_EVENT"] == "false"


def test_each_function_has_a_schedule_disabled_until_configured(resources, template):
    schedules = of_type(resources, "AWS::Scheduler::Schedule")
    assert len(schedules) == FUNCTIONS + 2  # and the TTL-by-tag example, and the release notice
    for schedule in schedules.values():
        props = schedule["Properties"]
        assert props["State"]["Ref"].endswith("ScheduleState")
        assert props["Target"]["Input"]["Ref"].endswith("Input")
        assert template["Parameters"][props["State"]["Ref"]]["Default"] == "DISABLED"
    for name in ("MaintainTimeInput", "AutoReleaseTimeInput"):
        assert "InstanceId" in json.loads(template["Parameters"][name]["Default"])
    ttl = json.loads(template["Parameters"]["TtlByTagInput"]["Default"])
    assert ttl["AutoReleaseAfter"] == {"Tag": "ttl"}
    assert ttl["Since"] == "CreationTime"
    assert ttl["Select"]["Tags"]["ttl"] is None
    assert json.loads(template["Parameters"]["ReleaseNoticeInput"]["Default"]) == {"ReleasingWithin": "PT24H"}


def test_each_function_has_a_webhook_route(resources, template):
    routes = set()
    for api in of_type(resources, "AWS::ApiGatewayV2::Api").values():
        routes |= {
            f"{'ANY' if method == 'x-amazon-apigateway-any-method' else method.upper()} {path}"
            for path, methods in api["Properties"]["Body"]["paths"].items()
            for method in methods
        }
    # every method reaches the function, which answers 405 but to POST: API Gateway alone would answer 404
    assert routes == {
        "ANY /redis/maintain-time",
        "ANY /ecs/auto-release-time",
        "ANY /ecs/instances",
        "ANY /redis/instances",
    }
    for function in (
        "modify_instance_maintain_time",
        "modify_instance_auto_release_time",
        "describe_ecs_instances",
        "describe_redis_instances",
    ):
        sample = json.loads((ROOT / "events" / function / "webhook.json").read_text())
        assert sample["routeKey"] in routes
    assert set(template["Outputs"]) >= {"MaintainTimeWebhookUrl", "AutoReleaseTimeWebhookUrl"}


def test_functions_may_read_only_their_secrets(resources):
    roles = {name: r for name, r in of_type(resources, "AWS::IAM::Role").items() if name.endswith("FunctionRole")}
    assert len(roles) == FUNCTIONS
    for role in roles.values():
        secret_statements = 0
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                if any(a.startswith("secretsmanager:") for a in actions):
                    assert actions == ["secretsmanager:GetSecretValue"]
                    assert "Fn::Sub" in statement["Resource"]
                    secret_statements += 1
        assert secret_statements == 2  # the credentials secret and the webhook secret


def test_failures_go_once_to_the_dead_letter_queue(resources):
    queue_name = "FailedInvocationsQueue"
    assert queue_name in of_type(resources, "AWS::SQS::Queue")
    configs = of_type(resources, "AWS::Lambda::EventInvokeConfig")
    assert len(configs) == FUNCTIONS
    for config in configs.values():
        props = config["Properties"]
        assert props["MaximumRetryAttempts"] == 0
        assert props["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": [queue_name, "Arn"]}
    for name, role in resources.items():
        if name.endswith("FunctionRole"):
            statements = [s for p in role["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]
            assert any("sqs:SendMessage" in str(s["Action"]) and queue_name in str(s["Resource"]) for s in statements)


def _sam(*args, timeout=300):
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    return subprocess.run(
        [str(Path(sys.executable).with_name("sam")), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


@pytest.mark.parametrize("args", [["validate", "--lint"], ["validate", "--region", "us-east-1"]])
def test_sam_validate_has_no_findings(args):
    result = _sam(*args)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr


def test_extension_layer_is_the_regions_unless_overridden(resources, template):
    for function in of_type(resources, "AWS::Lambda::Function").values():
        condition, regional, override = function["Properties"]["Layers"][1]["Fn::If"]
        assert condition == "UseRegionalExtensionLayer"
        assert override == {"Ref": "ParametersSecretsExtensionLayerArn"}
        arn, variables = regional["Fn::Sub"]
        assert ":layer:AWS-Parameters-and-Secrets-Lambda-Extension-Arm64:${ParametersSecretsExtensionVersion}" in arn
        assert variables["Account"] == {
            "Fn::FindInMap": ["ParametersSecretsExtension", {"Ref": "AWS::Region"}, "Account"]
        }
    accounts = template["Mappings"]["ParametersSecretsExtension"]
    assert accounts["us-east-1"]["Account"] == "177933569100"
    assert len(accounts) >= 20


def test_logs_have_a_retention_period(resources):
    groups = of_type(resources, "AWS::Logs::LogGroup")
    functions = of_type(resources, "AWS::Lambda::Function")
    named = {g["Properties"]["LogGroupName"]["Fn::Sub"] for g in groups.values() if "LogGroupName" in g["Properties"]}
    assert named == {f"/aws/lambda/${{{name}}}" for name in functions}
    assert "HttpApiAccessLogGroup" in groups  # and the API's access log
    assert all(g["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"} for g in groups.values())


def test_api_access_logs_are_json_with_the_request_id(resources):
    (stage,) = of_type(resources, "AWS::ApiGatewayV2::Stage").values()
    settings = stage["Properties"]["AccessLogSettings"]
    assert settings["DestinationArn"] == {"Fn::GetAtt": ["HttpApiAccessLogGroup", "Arn"]}
    line = json.loads(settings["Format"].replace("\n", ""))
    assert line["requestId"] == "$context.requestId"
    assert line["status"] == "$context.status"


def statements_of(role):
    return [s for p in role["Properties"].get("Policies", []) for s in p["PolicyDocument"]["Statement"]]


def test_least_privilege_no_managed_policy_but_log_writing_no_wildcard(resources):
    roles = of_type(resources, "AWS::IAM::Role")
    for name, role in roles.items():
        managed = role["Properties"].get("ManagedPolicyArns", [])
        assert managed in ([], ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]), name
        for statement in statements_of(role):
            if statement["Resource"] == "*":  # only an action IAM defines no resource for, narrowed by conditions
                assert statement["Action"] == "sts:GetWebIdentityToken", (name, statement)
                assert set(statement["Condition"]) == {"ForAllValues:StringEquals", "NumericLessThanEquals"}
                continue
            assert "*" not in json.dumps(statement["Action"]).replace("sqs:SendMessage*", ""), (name, statement)
    # each modify function reads its own targets queue, and no other
    for function, queue in (
        ("ModifyInstanceMaintainTimeFunctionRole", "MaintainTimeTargetsQueue"),
        ("ModifyInstanceAutoReleaseTimeFunctionRole", "AutoReleaseTimeTargetsQueue"),
    ):
        receive = [s for s in statements_of(roles[function]) if "sqs:ReceiveMessage" in s["Action"]]
        assert [s["Resource"] for s in receive] == [{"Fn::GetAtt": [queue, "Arn"]}]


def test_checkov_finds_nothing_and_every_skip_says_why():
    checkov = ROOT / ".venv" / "checkov" / "bin" / "checkov"
    assert checkov.exists(), "make test installs checkov in .venv/checkov"
    result = subprocess.run(
        [
            str(checkov),
            "-f",
            str(ROOT / "template.yaml"),
            "--framework",
            "cloudformation",
            "--skip-download",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"},
    )
    report = json.loads(result.stdout)
    failed = [(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]]
    assert failed == []
    assert result.returncode == 0
    assert report["summary"]["passed"] > 15
    skipped = report["results"]["skipped_checks"]
    assert skipped
    assert all(c["check_result"].get("suppress_comment", "").strip() for c in skipped)


def test_failures_reach_a_person(resources, template):
    alarms = of_type(resources, "AWS::CloudWatch::Alarm")
    assert set(alarms) == {"FailedInvocationsAlarm", "TargetsDeadLettersAlarm", "FailuresAlarm"}
    assert all(a["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}] for a in alarms.values())
    queues = {
        a["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for a in alarms.values()
        if "Dimensions" in a["Properties"]
    }
    assert queues == {"FailedInvocationsQueue", "TargetsDeadLetterQueue"}
    # the Failures alarm covers every function, by the dimensions its metrics are published with
    import re

    published = {
        re.search(
            r'Metrics\(namespace="AlibabaCloudLifecycle", service="([a-z-]+)"\)', (f / "app.py").read_text()
        ).group(1)
        for f in (ROOT / "functions").iterdir()
        if (f / "app.py").exists()
    }
    watched = {
        d["Value"]
        for m in alarms["FailuresAlarm"]["Properties"]["Metrics"]
        if "MetricStat" in m
        for d in m["MetricStat"]["Metric"]["Dimensions"]
        if d["Name"] == "service"
    }
    assert watched == published
    assert len(published) == FUNCTIONS
    subscription = resources["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"]["Protocol"] == "email"
    assert template["Parameters"]["AlarmEmail"]["Default"] == ""


def test_every_function_has_reserved_concurrency(resources, template):
    for function in of_type(resources, "AWS::Lambda::Function").values():
        assert function["Properties"]["ReservedConcurrentExecutions"] == {"Ref": "ReservedConcurrency"}
    assert template["Parameters"]["ReservedConcurrency"]["MinValue"] >= 2  # an SQS mapping needs two


def test_settings_are_parameters_with_safe_defaults(template):
    params = template["Parameters"]
    assert params["SignatureVersion"]["AllowedValues"] == ["v3", "v2"]
    assert params["SignatureVersion"]["Default"] == "v3"
    assert params["MaintainWindowRule"]["Default"] == "exactly-one-hour"
    assert params["LogLevel"]["Default"] == "INFO"
    assert all(params[name]["Default"] == "DISABLED" for name in params if name.endswith("ScheduleState"))


def test_cron_chain_resources(resources, template):
    (bus_name,) = of_type(resources, "AWS::Events::EventBus")
    for config in of_type(resources, "AWS::Lambda::EventInvokeConfig").values():
        assert config["Properties"]["DestinationConfig"]["OnSuccess"]["Destination"] == {
            "Fn::GetAtt": [bus_name, "Arn"]
        }
    rules = of_type(resources, "AWS::Events::Rule")
    chained = {name: rule for name, rule in rules.items() if "Chained" in name}
    assert len(chained) == 2
    actions = set()
    for rule in chained.values():
        props = rule["Properties"]
        assert props["EventBusName"] == {"Ref": bus_name}
        assert props["EventPattern"]["detail-type"] == ["Lambda Function Invocation Result - Success"]
        actions |= set(props["EventPattern"]["detail"]["responsePayload"]["Next"]["Action"])
        (target,) = props["Targets"]
        assert target["InputPath"] == "$.detail.responsePayload.Next"
    assert actions == {"ModifyInstanceMaintainTime", "ModifyInstanceAutoReleaseTime"}
    for name, role in resources.items():
        if name.endswith("FunctionRole"):
            statements = [s for p in role["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]
            assert any("events:PutEvents" in str(s["Action"]) and bus_name in str(s["Resource"]) for s in statements)
    permissions = [
        p
        for p in of_type(resources, "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "events.amazonaws.com"
    ]
    assert len(permissions) == 2
    example = json.loads(template["Parameters"]["AutoReleaseTimeInput"]["Default"])
    assert example["Next"]["Action"] == "ModifyInstanceMaintainTime"
    assert example["ScheduledTime"] == "<aws.scheduler.scheduled-time>"


def test_fleets_fan_out_through_sqs_with_partial_batch_responses(resources):
    mappings = of_type(resources, "AWS::Lambda::EventSourceMapping")
    assert set(mappings) == {"MaintainTimeTargetsMapping", "AutoReleaseTimeTargetsMapping"}
    queues = of_type(resources, "AWS::SQS::Queue")
    for mapping in mappings.values():
        props = mapping["Properties"]
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert props["BatchSize"] == 1
        assert props["ScalingConfig"]["MaximumConcurrency"] == 2
        (queue,) = [q for q in queues if props["EventSourceArn"] == {"Fn::GetAtt": [q, "Arn"]}]
        redrive = queues[queue]["Properties"]["RedrivePolicy"]
        assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["TargetsDeadLetterQueue", "Arn"]}
        assert redrive["maxReceiveCount"] == 3
        assert queues[queue]["Properties"]["VisibilityTimeout"] >= 6 * 30


def test_each_modify_function_may_invoke_itself_and_nothing_else():
    from local import template as app_template

    raw = app_template.load()["Resources"]
    policies = {name: r["Properties"] for name, r in raw.items() if r["Type"] == "AWS::IAM::Policy"}
    invoked = {
        p["Roles"][0]["Ref"]: [s["Resource"]["Fn::GetAtt"][0] for s in p["PolicyDocument"]["Statement"]]
        for p in policies.values()
    }
    assert invoked == {
        "ModifyInstanceMaintainTimeFunctionRole": ["ModifyInstanceMaintainTimeFunction"],
        "ModifyInstanceAutoReleaseTimeFunctionRole": ["ModifyInstanceAutoReleaseTimeFunction"],
    }
    actions = {a for p in policies.values() for s in p["PolicyDocument"]["Statement"] for a in s["Action"]}
    assert actions == {"lambda:InvokeFunction"}


def test_a_queued_chunk_is_never_delivered_twice_while_it_may_still_run():
    from local import template as app_template

    raw = app_template.load()
    longest = raw["Parameters"]["FunctionTimeout"]["MaxValue"]
    assert raw["Globals"]["Function"]["Timeout"] == {"Ref": "FunctionTimeout"}
    for name in ("MaintainTimeTargetsQueue", "AutoReleaseTimeTargetsQueue"):
        assert raw["Resources"][name]["Properties"]["VisibilityTimeout"] >= 6 * longest, name


def _named_metrics(value):
    """Every (metric name, dimensions) of our namespace the template names: alarms' MetricStats and the
    dashboard's widgets."""
    found = set()
    if isinstance(value, dict):
        metric = value.get("Metric")
        if isinstance(metric, dict) and metric.get("Namespace") == "AlibabaCloudLifecycle":
            found.add((metric["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in metric["Dimensions"]))))
        for item in value.values():
            found |= _named_metrics(item)
    elif isinstance(value, list):
        if len(value) >= 2 and value[0] == "AlibabaCloudLifecycle":
            dims = value[2:]
            found.add((value[1], tuple(sorted(zip(dims[::2], dims[1::2], strict=True)))))
        else:
            for item in value:
                found |= _named_metrics(item)
    return found


def test_every_metric_the_dashboard_and_the_alarms_name_is_one_the_functions_emit(emulator, function_env, capsys):
    """Each function is run through what makes every metric it has: a success, a throttled call, a failure,
    a refusal, an unfinished batch or read; what its EMF blobs carry is what the template must name."""
    from helpers import ECS_ID, MAINTAIN, REDIS_ID, RELEASE, emf
    from local import template as app_template
    from local.runtime import LambdaContext, load_function

    raw = app_template.load()
    body = raw["Resources"]["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    named = _named_metrics(json.loads(body)) | _named_metrics(raw["Resources"]["FailuresAlarm"]["Properties"])
    for number in range(3):
        emulator.add_instance(f"r-bp1metrics{number:05d}", "R-kvstore")
        emulator.add_instance(f"i-bp1metrics{number:05d}", "Ecs")
    fleets = {
        MAINTAIN: [REDIS_ID, "r-unknown", *[f"r-bp1metrics{n:05d}" for n in range(3)]],
        RELEASE: [ECS_ID, "i-unknown", *[f"i-bp1metrics{n:05d}" for n in range(3)]],
    }
    values = {
        MAINTAIN: {"MaintainStartTime": "02:00Z", "MaintainEndTime": "03:00Z"},
        RELEASE: {"AutoReleaseAfter": "PT8H"},
    }
    for function, ids in fleets.items():
        handler = load_function(function).lambda_handler
        emulator.inject("throttle", 1, RetryAfterMs=1)
        targets = [{"InstanceId": ids[0]}, "not a target", *({"InstanceId": i} for i in ids[1:])]
        handler({"Targets": targets, **values[function], "RateControl": {"Concurrency": 1}}, LambdaContext())
    for function in ("describe_ecs_instances", "describe_redis_instances"):
        handler = load_function(function).lambda_handler
        emulator.inject("throttle", 1, RetryAfterMs=1)
        handler({"Tags": {"env": "dev"}}, LambdaContext())  # a throttled read, then a success
        handler({"Tags": {"env": "dev"}}, LambdaContext(remaining_ms=1500))  # no time for a page: unfinished
        with pytest.raises(AlibabaCloudError):
            handler({"Tags": {"": "x"}}, LambdaContext())  # the caller's mistake
        emulator.inject("internal", 4)
        with pytest.raises(AlibabaCloudError):
            handler({"Tags": {"env": "dev"}}, LambdaContext())  # a failed call
    emitted = set()
    for blob in emf(capsys.readouterr().out):
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            if directive["Namespace"] != "AlibabaCloudLifecycle":
                continue
            for dims in directive["Dimensions"]:
                key = tuple(sorted((d, blob[d]) for d in dims))
                emitted |= {(m["Name"], key) for m in directive["Metrics"]}
    assert named - emitted == set()
