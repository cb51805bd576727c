"""``sam build`` without Docker, and the built functions run from the build output alone.

The built artefacts are run in an isolated interpreter (no site-packages, only the built layer
and function on the path, as on Lambda) against the emulator: the layer must hold everything
the functions import.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ACCESS_KEY_ID, ACCESS_KEY_SECRET, ECS_ID, REDIS_ID, in_future

ROOT = Path(__file__).resolve().parent.parent

RUN_BUILT = """
import json, sys
build, function, event = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
sys.path[:0] = [build + "/AlibabaCloudLayer/python", build + "/" + function]
import app

class Context:
    function_name, memory_limit_in_mb, aws_request_id = function, 256, "built-run"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + function
    def get_remaining_time_in_millis(self):
        return 30000

result = app.lambda_handler(event, Context())
outside = sorted({m.__file__ for m in list(sys.modules.values()) if getattr(m, "__file__", None)
                  and not m.__file__.startswith((build, sys.base_prefix))})
print(json.dumps({"result": result, "outside": outside}))
"""


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("sam-build")
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    result = subprocess.run(
        [str(Path(sys.executable).with_name("sam")), "build", "--build-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def test_build_holds_the_layer_and_both_functions(build_dir):
    layer = build_dir / "AlibabaCloudLayer" / "python"
    for package in ("alibaba_cloud", "requests", "aws_lambda_powertools", "urllib3"):
        assert (layer / package).is_dir(), package
    assert not (layer / "boto3").exists()
    assert not (layer / "botocore").exists()
    for function in ("ModifyInstanceMaintainTimeFunction", "ModifyInstanceAutoReleaseTimeFunction"):
        assert (build_dir / function / "app.py").is_file()


def test_layer_ships_unchecked_hash_bytecode_for_every_module(build_dir):
    """sam build leaves no bytecode on its own; the layer's makefile build compiles all of it."""
    import importlib.util

    layer = build_dir / "AlibabaCloudLayer" / "python"
    sources = [p for p in layer.rglob("*.py") if "dist-info" not in str(p)]
    assert len(sources) > 300
    for source in sources:
        compiled = Path(importlib.util.cache_from_source(str(source)))
        assert compiled.name.endswith(".cpython-312.pyc"), compiled
        header = compiled.read_bytes()[:16]
        assert header[:4] == importlib.util.MAGIC_NUMBER, source  # Python 3.12's bytecode
        assert int.from_bytes(header[4:8], "little") == 0b01, source  # hash-based, source never checked


def test_layer_is_built_for_lambdas_arm64(build_dir):
    compiled = list((build_dir / "AlibabaCloudLayer" / "python").rglob("*.so"))
    assert compiled
    assert all("aarch64" in p.name for p in compiled)


@pytest.mark.parametrize(
    ("function", "event"),
    [
        (
            "ModifyInstanceMaintainTimeFunction",
            {"InstanceId": REDIS_ID, "MaintainStartTime": "06:00Z", "MaintainEndTime": "07:00Z"},
        ),
        ("ModifyInstanceAutoReleaseTimeFunction", {"InstanceId": ECS_ID, "AutoReleaseTime": in_future(hours=8)}),
    ],
)
def test_built_functions_run_from_the_build_alone(build_dir, emulator, function, event):
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONDONTWRITEBYTECODE": "1",
        "ALIBABA_CLOUD_ENDPOINT": emulator.url,
        "ALIBABA_CLOUD_REGION_ID": "cn-hangzhou",
        "ALIBABA_CLOUD_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": ACCESS_KEY_SECRET,
        "POWERTOOLS_LOG_LEVEL": "ERROR",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", RUN_BUILT, str(build_dir), function, json.dumps(event)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["result"]["Outcome"] == "Succeeded"
    assert outcome["result"]["RequestId"]
    assert outcome["outside"] == []
    assert emulator.state.received[-1].Status == 200
