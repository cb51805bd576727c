"""``make bench``: cold start, size, memory, signing cost and batch throughput, side by side, with budgets.

Every variant makes the same call (R-kvstore ModifyInstanceMaintainTime). Ours and the floor (bare
``requests`` and a stdlib signer, what a hand-written script costs) are built the way the layer
ships: ``pip install`` into a folder, then every file compiled to unchecked-hash bytecode (the
layer's own makefile; Lambda's code directories are read-only, so a layer without bytecode compiles
every module at every cold start). The official SDKs are built the way ``sam build`` builds a Python
layer, ``pip install`` alone, as a team deploying them would get them; one more row shows ours
built that way too. Builds are for this machine's platform so they can run here; the arm64 build
``sam build`` makes is the same size within a few KiB.

Cold start: a fresh interpreter (``-I -S -B``: no site, no bytecode written, as on a read-only
Lambda filesystem) imports the function from its build folder and makes one signed call to a stub
on 127.0.0.1; it is timed from the spawn to the call's return (Lambda's init and first invoke;
Lambda does not tear the process down after it, so neither do we count that). Variants are
interleaved round by round; the table gives medians and the medians of the per-round (paired)
ratios. The machine is shared and noisy: the spread of each variant is printed. What each part of
our cold start costs is read from ``python -X importtime`` over the same build.

``python tests/bench.py cold`` runs the cold starts and the import costs alone.
"""

from __future__ import annotations

import contextlib
import io
import os
import random
import shutil
import stat
import statistics
import subprocess
import sys
import threading
import time
import timeit
import zipfile
from datetime import UTC
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build" / "bench"
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "alibaba_cloud")]

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "15"))
PINS = {
    "core": ["aliyun-python-sdk-core==2.16.1"],
    "tea": ["alibabacloud-r-kvstore20150101==7.0.0"],
    "tea-ecs": ["alibabacloud-ecs20140526==7.11.8"],
    "floor": ["requests==2.34.2"],
}
KEY_ID, SECRET = "LTAI5tBenchmarkKey00", "benchmark-secret"
EVENT = {"InstanceId": "r-bp1zxszhcgatnx2demo", "MaintainStartTime": "02:00Z", "MaintainEndTime": "03:00Z"}

# What each variant's "function" does at cold start: import, then one signed call to the stub.
SCRIPTS = {
    "ours": """
import sys, os
sys.path[:0] = [sys.argv[1] + "/layer/python", sys.argv[1] + "/function"]
import app
class Context:
    function_name, memory_limit_in_mb, aws_request_id = "bench", 256, "bench"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    def get_remaining_time_in_millis(self): return 30000
EVENT = {"InstanceId": "r-bp1zxszhcgatnx2demo", "MaintainStartTime": "02:00Z", "MaintainEndTime": "03:00Z"}
app.lambda_handler(EVENT, Context())
""",
    "core": """
import sys, os
sys.path[:0] = [sys.argv[1] + "/layer/python"]
from aliyunsdkcore.client import AcsClient
from aliyunsdkcore.request import CommonRequest
key, secret = os.environ["ALIBABA_CLOUD_ACCESS_KEY_ID"], os.environ["ALIBABA_CLOUD_ACCESS_KEY_SECRET"]
client = AcsClient(key, secret, "cn-hangzhou")
request = CommonRequest(domain=os.environ["STUB_HOST"], version="2015-01-01",
                        action_name="ModifyInstanceMaintainTime")
request.set_method("POST"); request.set_protocol_type("http"); request.set_accept_format("json")
for k, v in {"InstanceId": "r-bp1zxszhcgatnx2demo", "MaintainStartTime": "02:00Z", "MaintainEndTime": "03:00Z"}.items():
    request.add_query_param(k, v)
client.do_action_with_exception(request)
""",
    "tea": """
import sys, os
sys.path[:0] = [sys.argv[1] + "/layer/python"]
from alibabacloud_r_kvstore20150101.client import Client
from alibabacloud_r_kvstore20150101 import models
from alibabacloud_tea_openapi.models import Config
key, secret = os.environ["ALIBABA_CLOUD_ACCESS_KEY_ID"], os.environ["ALIBABA_CLOUD_ACCESS_KEY_SECRET"]
client = Client(Config(access_key_id=key, access_key_secret=secret,
                       endpoint=os.environ["STUB_HOST"], protocol="http", region_id="cn-hangzhou"))
client.modify_instance_maintain_time(models.ModifyInstanceMaintainTimeRequest(
    instance_id="r-bp1zxszhcgatnx2demo", maintain_start_time="02:00Z", maintain_end_time="03:00Z"))
""",
    "floor": """
import sys, os
sys.path[:0] = [sys.argv[1] + "/layer/python"]
import base64, hashlib, hmac, uuid, datetime
from urllib.parse import quote
import requests
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
params = {"InstanceId": "r-bp1zxszhcgatnx2demo", "MaintainStartTime": "02:00Z", "MaintainEndTime": "03:00Z",
          "Action": "ModifyInstanceMaintainTime", "Version": "2015-01-01", "Format": "JSON",
          "AccessKeyId": os.environ["ALIBABA_CLOUD_ACCESS_KEY_ID"], "SignatureMethod": "HMAC-SHA1",
          "SignatureVersion": "1.0", "SignatureNonce": uuid.uuid4().hex, "Timestamp": now}
enc = lambda s: quote(s, safe="~")
query = "&".join(f"{enc(k)}={enc(v)}" for k, v in sorted(params.items()))
key = (os.environ["ALIBABA_CLOUD_ACCESS_KEY_SECRET"] + "&").encode()
digest = hmac.new(key, f"POST&%2F&{enc(query)}".encode(), hashlib.sha1).digest()
body = query + "&Signature=" + enc(base64.b64encode(digest).decode())
form = {"Content-Type": "application/x-www-form-urlencoded"}
requests.post("http://" + os.environ["STUB_HOST"] + "/", data=body, headers=form, timeout=5).json()
""",
}


class Stub(ThreadingHTTPServer):
    """Answers every call like a successful Alibaba Cloud action."""

    daemon_threads = True

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _answer(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                data = b'{"RequestId": "8D0C0AFC-E9CD-47A4-8395-5C31BF9B3E76"}'
                # status, headers and body in one write, as a gateway sends a small answer: two writes on a
                # kept-alive connection would wait out the client's delayed ACK (Nagle), 40 ms a request
                head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
                self.wfile.write(head.encode() + data)

            do_GET = do_POST = _answer

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


# Builds


def run(*args: str) -> None:
    """A build step, quiet: its output (pip's warnings and resolver notes) shown only if it fails."""
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args[:4])} … failed:\n{(done.stdout + done.stderr)[-3000:]}")


def build_variants() -> dict[str, Path]:
    if BUILD.exists():
        for path in BUILD.rglob("*"):
            path.chmod(path.stat().st_mode | stat.S_IWUSR)
        shutil.rmtree(BUILD)
    variants = {}
    ours = BUILD / "ours"
    run(
        "make",
        "-s",
        "-C",
        str(ROOT / "layers" / "alibaba_cloud"),
        "build-AlibabaCloudLayer",
        f"ARTIFACTS_DIR={ours / 'layer'}",
        "PLATFORM=",
        f"PYTHON={sys.executable}",
    )
    shutil.copytree(ROOT / "functions" / "modify_instance_maintain_time", ours / "function")
    variants["ours"] = ours
    # the same, built as sam build would build it: no bytecode (to show what bytecode buys)
    plain = BUILD / "ours-no-bytecode"
    shutil.copytree(ours, plain, ignore=shutil.ignore_patterns("__pycache__"))
    variants["ours-no-bytecode"] = plain
    for name, pins in PINS.items():
        target = BUILD / name
        run(
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",
            "-t",
            str(target / "layer" / "python"),
            *pins,
        )
        if name == "floor":  # built as the layer is: the floor is what ours must beat
            compile_bytecode(target / "layer" / "python")
        (target / "function").mkdir()
        variants[name] = target
    for name in ("core", "tea", "floor"):
        (variants[name] / "function" / "app.py").write_text(SCRIPTS[name])
    for path in BUILD.rglob("*"):  # read-only, like Lambda's /opt and /var/task
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    return variants


def compile_bytecode(folder: Path) -> None:
    """What the layer's makefile does after pip: unchecked-hash bytecode, valid whatever the zip's timestamps."""
    run(sys.executable, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash", str(folder))


def zipped_mib(*folders: Path) -> float:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for folder in folders:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(folder))
    return len(buffer.getvalue()) / 2**20


# Measurements


def cold_start(variant: str, folder: Path, env: dict[str, str]) -> tuple[float, float]:
    """(seconds from spawn to the first call's return, peak RSS in MiB) of one fresh process."""
    script = (
        SCRIPTS["ours"] if variant.startswith("ours") else SCRIPTS[variant]
    ) + "\nimport time\nprint(time.time(), file=sys.stderr)\n"
    started = time.time()
    process = subprocess.Popen(
        [sys.executable, "-I", "-S", "-B", "-c", script, str(folder)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    errors = process.stderr.read().decode()  # type: ignore[union-attr]
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{variant} failed: {errors[-2000:]}")
    returned = float(errors.strip().splitlines()[-1])
    return returned - started, usage.ru_maxrss / 1024


def signing_costs() -> dict[str, float]:
    """Microseconds to sign one request of the action, ours against the official signers."""
    from alibabacloud_tea_openapi.utils import Utils as TeaUtils
    from aliyunsdkcore.auth.composer import rpc_signature_composer

    from alibaba_cloud.rpc.signing import encode_form, rpc_signature, sign_request

    params = dict(EVENT)
    common = {
        "Action": "ModifyInstanceMaintainTime",
        "Version": "2015-01-01",
        "Format": "JSON",
        "AccessKeyId": KEY_ID,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": "0" * 32,
        "Timestamp": "2026-11-22T02:00:00Z",
    }
    cases = {
        "ours: the signature alone": lambda: rpc_signature("POST", {**params, **common}, SECRET),
        "Tea (alibabacloud-tea-openapi): the signature alone": lambda: TeaUtils.get_rpcsignature(
            {**params, **common}, "POST", SECRET
        ),
        "ours: the whole request (nonce, time, signature, body)": lambda: encode_form(
            sign_request(
                method="POST",
                action="ModifyInstanceMaintainTime",
                version="2015-01-01",
                params=params,
                access_key_id=KEY_ID,
                access_key_secret=SECRET,
            )
        ),
        "aliyun-python-sdk-core: the whole request (nonce, time, signature, URL)": lambda: (
            rpc_signature_composer.get_signed_url(dict(params), KEY_ID, SECRET, "JSON", "POST", {})
        ),
    }
    results = {}
    for name, case in cases.items():
        runs = timeit.repeat(case, number=2000, repeat=7)
        results[name] = statistics.median(runs) / 2000 * 1e6
    return results


def batch_throughput() -> dict[str, float]:
    """1,000 targets through our batch against the emulator with 50 ms latency and a rate cap,
    against a sequential loop over aliyun-python-sdk-core (100 targets, per-target rate compared)."""
    import requests

    from local.runtime import LambdaContext, environment, load_function

    with emulator_process() as url:
        ids = [f"r-batch{i:05d}" for i in range(1000)]
        requests.post(
            url + "/_emulator/instances", json=[{"InstanceId": i, "Product": "R-kvstore"} for i in ids], timeout=10
        )
        requests.post(url + "/_emulator/faults", json=[{"Kind": "latency", "Seconds": 0.05, "Times": 10**6}], timeout=5)
        concurrency, cap, latency = 20, 200.0, 0.05
        limit = min(cap, concurrency / latency)
        # MAX_CHANGES at its ceiling: the 1,000 writes are one run's (the default cap is 100)
        with environment({**emulator_env(url), "MAX_CHANGES": "5000"}):  # kept for the call: metrics off, logs quiet
            function = load_function("modify_instance_maintain_time")
            started = time.perf_counter()
            result = function.lambda_handler(
                {
                    "InstanceIds": ids,
                    "MaintainStartTime": "02:00Z",
                    "MaintainEndTime": "03:00Z",
                    "RateControl": {"Concurrency": concurrency, "MaxRequestsPerSecond": cap},
                },
                LambdaContext(remaining_ms=900_000),
            )
            elapsed = time.perf_counter() - started
        if result["Summary"]["Succeeded"] != len(ids):
            raise SystemExit(f"batch did not complete: {result['Summary']}")
        # the pool's rate, first write to last: the instances are read first (34 reads of 30 IDs, each
        # 50 ms here too), which the elapsed time shown includes
        received = requests.get(url + "/_emulator/requests", timeout=30).json()
        arrivals = sorted(r["Arrived"] for r in received if r["Action"] == "ModifyInstanceMaintainTime")
        ours_rate = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])

        from aliyunsdkcore.client import AcsClient
        from aliyunsdkcore.request import CommonRequest

        from local.emulator import DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET

        client = AcsClient(DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET, "cn-hangzhou")
        started = time.perf_counter()
        for instance_id in ids[:100]:
            request = CommonRequest(
                domain=url.split("//")[1], version="2015-01-01", action_name="ModifyInstanceMaintainTime"
            )
            request.set_method("POST")
            request.set_protocol_type("http")
            request.set_accept_format("json")
            for k, v in {"InstanceId": instance_id, "MaintainStartTime": "02:00Z", "MaintainEndTime": "03:00Z"}.items():
                request.add_query_param(k, v)
            client.do_action_with_exception(request)
        sdk_rate = 100 / (time.perf_counter() - started)
        return {"limit": limit, "ours": ours_rate, "elapsed": elapsed, "sdk": sdk_rate}


SELECT_RUN = """
import json, sys, time
sys.path[:0] = [sys.argv[1] + "/layers/alibaba_cloud", sys.argv[1] + "/functions/modify_instance_auto_release_time"]
import app
class Context:
    function_name, memory_limit_in_mb, aws_request_id = "bench", 256, "bench"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    def get_remaining_time_in_millis(self): return 900_000
started = time.perf_counter()
result = app.lambda_handler(json.loads(sys.argv[2]), Context())
elapsed = time.perf_counter() - started
# VmHWM is this process image's own peak; ru_maxrss would carry the forking parent's across exec
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
store = app.handler.runner._runs
print(json.dumps({"elapsed": elapsed, "rss": peak / 1024, "summary": result["Summary"],
                  "selection": result.get("Selection"), "size": len(json.dumps(result)),
                  "plan": result.get("PlanId"), "store_writes": store.writes if store else 0,
                  "store_reads": store.table.reads if store else 0}))
"""


def fleet_scale() -> dict[str, dict[str, float]]:
    """Select at scale, each run in a fresh interpreter (its peak RSS is the function's) against the
    emulator in its own process: 10,000 tagged ECS instances already at their TTL (every ID listed
    by ListTagResources, 50 a page, each page described by InstanceIds; nothing written), then 1,000
    instances to change under MaxRequestsPerSecond 50."""
    from datetime import datetime, timedelta

    import requests

    with emulator_process() as url:
        # MAX_CHANGES at its ceiling: the 1,000 changes are one run's (the default cap is 100)
        env = {"PATH": "/usr/bin:/bin", **emulator_env(url), "AWS_LAMBDA_FUNCTION_NAME": "bench", "MAX_CHANGES": "5000"}
        born = (datetime.now(UTC) - timedelta(hours=1)).replace(second=0, microsecond=0)
        stamp = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
        stable = [
            {
                "InstanceId": f"i-bp1stable{n:06d}",
                "Product": "Ecs",
                "Tags": {"env": "stable", "ttl": "P1D"},
                "CreationTime": stamp(born),
                "AutoReleaseTime": stamp(born + timedelta(days=1)),
            }
            for n in range(10_000)
        ]
        changing = [
            {"InstanceId": f"i-bp1change{n:06d}", "Product": "Ecs", "Tags": {"env": "batch"}} for n in range(1000)
        ]
        planned = [{"InstanceId": f"i-bp1plan{n:06d}", "Product": "Ecs", "Tags": {"env": "plan"}} for n in range(5000)]
        requests.post(url + "/_emulator/instances", json=stable + changing + planned, timeout=60)
        runs = {
            "stable": {
                "Select": {"Tags": {"env": "stable", "ttl": None}},
                "AutoReleaseAfter": {"Tag": "ttl"},
                "Since": "CreationTime",
            },
            "changes": {
                "Select": {"Tags": {"env": "batch"}},
                "AutoReleaseAfter": "PT8H",
                "RateControl": {"Concurrency": 10, "MaxRequestsPerSecond": 50},
            },
        }
        measured = {}
        from local.aws import AwsStandIn

        with AwsStandIn() as aws:  # moto's DynamoDB: the runs table keeps the plan and the change records
            env.update(aws.environment())
            for name, event in runs.items():
                measured[name] = _measured_run(url, env, event)
            plan = {
                "Select": {"Tags": {"env": "plan"}},
                "AutoReleaseAfter": "P1D",
                "DryRun": True,
                "RateControl": {"Concurrency": 32, "MaxRequestsPerSecond": 500},
            }
            measured["plan"] = _measured_run(url, env, plan)
            measured["apply"] = _measured_run(url, env, {"Apply": measured["plan"]["plan"]})
        return measured


def _measured_run(url: str, env: dict[str, str], event: dict) -> dict:
    """One function run in a fresh interpreter, and the requests the emulator received for it."""
    import json as json_module

    import requests

    before = len(requests.get(url + "/_emulator/requests", timeout=30).json())
    out = subprocess.run(
        [sys.executable, "-I", "-c", SELECT_RUN, str(ROOT), json_module.dumps(event)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    ).stdout
    run = json_module.loads(out.strip().splitlines()[-1])
    received = requests.get(url + "/_emulator/requests", timeout=30).json()[before:]
    run["listed"] = sum(r["Action"] == "ListTagResources" for r in received)
    run["described"] = sum(r["Action"] == "DescribeInstances" for r in received)
    run["reads"] = run["listed"] + run["described"]
    arrivals = sorted(r["Arrived"] for r in received if r["Action"] == "ModifyInstanceAutoReleaseTime")
    run["writes"] = len(arrivals)
    # the rate the writes reached Alibaba at, first to last: what RateControl caps (the reads before are apart)
    run["write_rate"] = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]) if len(arrivals) > 1 else 0.0
    return run


def emulator_env(url: str) -> dict[str, str]:
    """A function's environment against the emulator at ``url``, quiet: its work is measured, not logged."""
    from local.emulator import DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET

    return {
        "ALIBABA_CLOUD_ENDPOINT": url,
        "ALIBABA_CLOUD_REGION_ID": "cn-hangzhou",
        "ALIBABA_CLOUD_ACCESS_KEY_ID": DEMO_ACCESS_KEY_ID,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": DEMO_ACCESS_KEY_SECRET,
        "POWERTOOLS_LOG_LEVEL": "ERROR",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }


@contextlib.contextmanager
def emulator_process():
    """The emulator in its own process (so its work is not measured as ours), ready; its base URL."""
    import requests

    port = _free_port()
    emulator = subprocess.Popen(
        [sys.executable, "-m", "local.emulator", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                requests.get(url + "/_emulator/requests", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        yield url
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def spread(values: list[float]) -> str:
    """Interquartile range relative to the median: how noisy this machine was for this row."""
    q1, _, q3 = statistics.quantiles(values, n=4)
    return f"±{(q3 - q1) / 2 / statistics.median(values) * 100:.0f}%"


IMPORT_GROUPS = (  # by a module's top-level package; a module of none of these counts for whoever imported it
    ("the layer (alibaba_cloud) and the function", ("alibaba_cloud", "app")),
    (
        "Powertools (Logger, Metrics), with the stdlib it imports first",
        ("aws_lambda_powertools", "jmespath", "typing_extensions"),
    ),
    (
        "HTTP and TLS: http.client, ssl, socket, email, certifi",
        ("http", "ssl", "_ssl", "socket", "selectors", "select", "email", "certifi", "zlib"),
    ),
)


def import_costs(folder: Path, env: dict[str, str], rounds: int = 9) -> dict[str, float]:
    """Milliseconds each group's imports take: every module's own time goes to its package's group,
    a standard-library module's to the group of whoever imported it first. The median of ``rounds``
    runs of ``-X importtime`` over the built layer, the import alone."""
    script = 'import sys; sys.path[:0] = [sys.argv[1] + "/layer/python", sys.argv[1] + "/function"]; import app'
    runs: dict[str, list[float]] = {}
    for _ in range(rounds):
        out = subprocess.run(
            [sys.executable, "-I", "-S", "-B", "-X", "importtime", "-c", script, str(folder)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stderr
        totals: dict[str, float] = {}
        for group, own in attributed(out):
            totals[group] = totals.get(group, 0.0) + own / 1000
        for label, value in totals.items():
            runs.setdefault(label, []).append(value)
    return {label: statistics.median(values) for label, values in runs.items()}


def attributed(importtime: str) -> list[tuple[str, int]]:
    """``(group, own microseconds)`` for every module ``-X importtime`` lists (children print before
    their parent, one indentation step deeper), each standard-library module in its importer's group."""
    pending: list[tuple[int, str, int, list]] = []  # (depth, module, own µs, children)
    for line in importtime.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, _, name = line.removeprefix("import time:").split("|")
        depth = (len(name) - len(name.lstrip()) - 1) // 2
        children = []
        while pending and pending[-1][0] == depth + 1:
            children.insert(0, pending.pop())
        pending.append((depth, name.strip(), int(own), children))
    found: list[tuple[str, int]] = []

    def walk(node: tuple[int, str, int, list], inherited: str) -> None:
        _, module, own, children = node
        group = next((label for label, roots in IMPORT_GROUPS if module.split(".")[0] in roots), inherited)
        found.append((group, own))
        for child in children:
            walk(child, group)

    for root in pending:
        walk(root, "other stdlib")
    return found


def cold_starts(variants: dict[str, Path], env: dict[str, str], names: list[str]) -> tuple[dict, dict]:
    times: dict[str, list[float]] = {n: [] for n in names}
    rss: dict[str, list[float]] = {n: [] for n in names}
    for name in names:  # warm the page cache once, untimed
        cold_start(name, variants[name], env)
    print(f"Cold starts: {ROUNDS} rounds of {len(names)} variants, interleaved ...", flush=True)
    for _ in range(ROUNDS):
        order = names[:]
        random.shuffle(order)
        for name in order:
            seconds, mib = cold_start(name, variants[name], env)
            times[name].append(seconds)
            rss[name].append(mib)
    return times, rss


LABELS = {
    "ours": "ours (layer with bytecode)",
    "ours-no-bytecode": "ours, built without bytecode",
    "core": "aliyun-python-sdk-core 2.16.1, as sam build ships it (no bytecode)",
    "tea": "Tea SDK (alibabacloud-r-kvstore20150101 7.0.0), as sam build ships it",
    "floor": "floor: bare requests + stdlib signer, with bytecode like ours",
}


def verdicts(budgets: list) -> tuple[list[str], int]:
    """The budgets' table, and how many failed."""
    lines = ["", "| budget | measured | verdict |", "|---|---|---|"]
    failed = 0
    for label, value, bound, sense in budgets:
        ok = value <= bound if sense == "le" else value >= bound
        failed += not ok
        if "%" in label:
            shown = f"{value * 100:.0f} %"
        elif "(count)" in label:
            shown = f"{value:.0f}"
        else:
            shown = f"{value:.2f}" + ("×" if "×" in label else " MiB" if "MiB" in label else "")
        lines.append(f"| {label} | {shown} | {'pass' if ok else 'FAIL'} |")
    return lines, failed


def main(argv: list[str]) -> int:
    cold_only = argv[1:] == ["cold"]
    if argv[1:] == ["fleet"]:  # the fleets at scale alone
        budgets: list = []
        lines = fleet_measurements(budgets)
        table, failed = verdicts(budgets)
        print("\n".join(lines + table))
        return 1 if failed else 0
    print(f"Building variants in {BUILD.relative_to(ROOT)} ...", flush=True)
    variants = build_variants()
    stub = Stub()
    env = {
        "PATH": "/usr/bin:/bin",
        "STUB_HOST": f"127.0.0.1:{stub.server_address[1]}",
        "ALIBABA_CLOUD_ENDPOINT": f"http://127.0.0.1:{stub.server_address[1]}",
        "ALIBABA_CLOUD_REGION_ID": "cn-hangzhou",
        "ALIBABA_CLOUD_ACCESS_KEY_ID": KEY_ID,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": SECRET,
        "POWERTOOLS_LOG_LEVEL": "ERROR",
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
    }
    names = ["ours", "ours-no-bytecode", "core", "tea", "floor"]
    times, rss = cold_starts(variants, env, names)
    costs = import_costs(variants["ours"], env)

    def ratio(a: str, b: str) -> float:
        return statistics.median(x / y for x, y in zip(times[a], times[b], strict=True))

    sizes = {
        "ours": zipped_mib(variants["ours"] / "layer", variants["ours"] / "function"),
        "core": zipped_mib(variants["core"] / "layer"),
        "tea": zipped_mib(variants["tea"] / "layer"),
        "tea-ecs": zipped_mib(variants["tea-ecs"] / "layer"),
        "floor": zipped_mib(variants["floor"] / "layer"),
    }
    lines = [
        f"Machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; {ROUNDS} interleaved rounds; "
        "medians, ± half the interquartile range.",
        "",
        "| cold start (import + one invocation: the instance read, then the signed write) | median | spread "
        "| ours ÷ this (paired) | peak RSS "
        "| zipped layer + function |",
        "|---|---|---|---|---|---|",
    ]
    for name in names:
        size = f"{sizes[name]:.2f} MiB" if name in sizes else "—"
        paired = "—" if name == "ours" else f"{ratio('ours', name):.2f}×"
        lines.append(
            f"| {LABELS[name]} | {statistics.median(times[name]) * 1000:.0f} ms | {spread(times[name])} | {paired} "
            f"| {statistics.median(rss[name]):.1f} MiB | {size} |"
        )
    lines.append(
        f"| (Tea SDK for ECS, alibabacloud-ecs20140526 7.11.8: size only) | | | | | {sizes['tea-ecs']:.2f} MiB |"
    )
    lines += ["", "| what our cold start imports (-X importtime, median of 9) | ms |", "|---|---|"]
    for label, _ in IMPORT_GROUPS:
        lines.append(f"| {label} | {costs.get(label, 0.0):.1f} |")
    lines.append(
        f"| the rest of the stdlib (python's own start, json, hmac, …) | {costs.get('other stdlib', 0.0):.1f} |"
    )
    budgets = [
        ("cold start ≤ 1.0 × the requests floor", ratio("ours", "floor"), 1.0, "le"),
        ("cold start ≤ 0.6 × aliyun-python-sdk-core's", ratio("ours", "core"), 0.6, "le"),
        ("zipped layer + function ≤ 4 MiB", sizes["ours"], 4.0, "le"),
        ("peak RSS ≤ 32 MiB", statistics.median(rss["ours"]), 32.0, "le"),
    ]
    if not cold_only:
        lines += more_measurements(budgets)
    table, failed = verdicts(budgets)
    lines += table
    print("\n".join(lines))
    stub.shutdown()
    return 1 if failed else 0


def more_measurements(budgets: list) -> list[str]:
    """Signing, batch throughput and fleets at scale: their tables, their budgets added to ``budgets``."""
    print("Signing cost ...", flush=True)
    signing = signing_costs()
    print("Batch throughput ...", flush=True)
    batch = batch_throughput()
    lines = ["", "| signing one request | µs |", "|---|---|"]
    for name, micros in signing.items():
        lines.append(f"| {name} | {micros:.1f} |")
    fraction = batch["ours"] / batch["limit"]
    limit = f"min(200, 20 / 0.05 s) = {batch['limit']:.0f}/s"
    lines += [
        "",
        "| batch: 1,000 targets, 50 ms latency, 20 at a time, capped at 200 requests/s | writes/s | of the limit |",
        "|---|---|---|",
        f"| ours, first write to last (limit {limit}; the run, its reads first, took {batch['elapsed']:.1f} s) "
        f"| {batch['ours']:.0f} | {fraction * 100:.0f} % |",
        f"| sequential loop over aliyun-python-sdk-core (100 targets) | {batch['sdk']:.0f} "
        f"| {batch['sdk'] / batch['limit'] * 100:.0f} % |",
    ]
    budgets.append(("batch ≥ 90 % of the limit", fraction, 0.9, "ge"))
    return lines + fleet_measurements(budgets)


def fleet_measurements(budgets: list) -> list[str]:
    """Fleets by tags at scale: their table, their budgets added to ``budgets``."""
    print("Fleets by tags at scale ...", flush=True)
    fleet = fleet_scale()
    stable, changes, plan, apply = fleet["stable"], fleet["changes"], fleet["plan"], fleet["apply"]
    change_rate = changes["write_rate"]
    budgets += [
        ("a 5,000-target plan: store writes ≤ 5,000 / 100 (count)", plan["store_writes"], 50, "le"),
        ("its apply: targets not written (count)", 5000 - apply["writes"], 0, "le"),
        ("stable 10,000: reads ≤ 2 × ⌈10,000 / 50⌉ (count)", stable["reads"], 400, "le"),
        ("stable 10,000: writes = 0 (count)", stable["writes"] + (stable["summary"]["Unchanged"] != 10_000), 0, "le"),
        ("stable 10,000: peak RSS ≤ 64 MiB", stable["rss"], 64.0, "le"),
        ("1,000 changes ≥ 90 % of the 50/s cap", change_rate / 50, 0.9, "ge"),
    ]
    return [
        "",
        "| Select at scale | instances | reads (ListTagResources + DescribeInstances) | writes | wall time "
        "| peak RSS | result size |",
        "|---|---|---|---|---|---|---|",
        f"| 10,000 tagged ECS instances, nothing to change | {stable['selection']['Read']} "
        f"| {stable['reads']} ({stable['listed']} + {stable['described']}) "
        f"| {stable['writes']} | {stable['elapsed']:.1f} s | {stable['rss']:.1f} MiB "
        f"| {stable['size'] / 1024:.1f} KiB |",
        f"| 1,000 changes, MaxRequestsPerSecond 50 ({change_rate:.1f} writes/s) | {changes['selection']['Read']} "
        f"| {changes['reads']} ({changes['listed']} + {changes['described']}) | {changes['writes']} "
        f"| {changes['elapsed']:.1f} s | {changes['rss']:.1f} MiB "
        f"| {changes['size'] / 1024:.1f} KiB |",
        "",
        "| a plan of 5,000 targets | store writes | store reads | Alibaba reads | Alibaba writes | wall time "
        "| peak RSS |",
        "|---|---|---|---|---|---|---|",
        f"| DryRun: read, planned, kept under a PlanId | {plan['store_writes']} | {plan['store_reads']} "
        f"| {plan['reads']} | {plan['writes']} "
        f"| {plan['elapsed']:.1f} s | {plan['rss']:.1f} MiB |",
        f"| Apply at 500 requests/s, 32 at a time (each change recorded) | {apply['store_writes']} "
        f"| {apply['store_reads']} | {apply['reads']} "
        f"| {apply['writes']} | {apply['elapsed']:.1f} s | {apply['rss']:.1f} MiB |",
    ]


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
