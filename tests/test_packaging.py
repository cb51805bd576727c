"""What ships: a lean layer that imports neither boto3 nor anything the handler's path does not need."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Powertools imports the bare ``botocore`` package (0.3 ms) to tag user agents; its clients and sessions are the cost.
HEAVY = (
    "boto3",
    "botocore.session",
    "botocore.client",
    "pydantic",
    "aws_xray_sdk",
    "fastjsonschema",
    "alibabacloud_tea_openapi",
    "aliyunsdkcore",
)


def test_layer_depends_on_requests_and_powertools_only():
    lines = (ROOT / "layers/alibaba_cloud/requirements.txt").read_text().splitlines()
    pins = [line for line in lines if line.strip() and not line.startswith("#")]
    assert [re.split("==", pin)[0] for pin in pins] == ["requests", "aws-lambda-powertools"]
    assert all(re.fullmatch(r"[\w-]+==[\d.]+", pin) for pin in pins)


@pytest.mark.parametrize("function", ["modify_instance_maintain_time", "modify_instance_auto_release_time"])
def test_cold_start_imports_nothing_heavy(function):
    script = f"""
import json, sys
sys.path[:0] = [{str(ROOT)!r}, {str(ROOT / "functions" / function)!r}]
from local.runtime import LambdaContext
import app
try:
    app.lambda_handler([], LambdaContext())
except Exception as error:
    code = error.code
print(json.dumps({{"code": code, "loaded": sorted(m for m in {HEAVY!r} if m in sys.modules)}}))
"""
    env = {
        "PATH": "/usr/bin:/bin",
        "ALIBABA_CLOUD_REGION_ID": "cn-hangzhou",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "CRITICAL",
    }
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome == {"code": "InvalidParameter", "loaded": []}


def test_runtime_code_never_imports_boto3():
    for path in [*ROOT.glob("layers/**/*.py"), *ROOT.glob("functions/**/*.py")]:
        assert not re.search(r"^\s*(import|from)\s+(boto3|botocore)\b", path.read_text(), re.M), path


def test_what_the_layers_dependencies_bring_is_pinned_as_the_tests_run_it():
    """The layer's build takes constraints.txt; each pin is the version the suite runs with."""
    constraints = [
        line
        for line in (ROOT / "layers/alibaba_cloud/constraints.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    tested = {
        re.split("==", line)[0].lower().replace("_", "-"): line.split("==")[1]
        for line in (ROOT / "tests/requirements.txt").read_text().splitlines()
        if "==" in line
    }
    assert {"urllib3", "idna", "certifi"} <= {c.split("==")[0] for c in constraints}
    for pin in constraints:
        name, version = pin.split("==")
        assert tested[name] == version, pin
    assert "-c constraints.txt" in (ROOT / "layers/alibaba_cloud/Makefile").read_text()
