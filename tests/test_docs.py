"""The README answers for every error code the layer can give: each appears in its tables."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CODE = re.compile(r"[A-Z][A-Za-z0-9]+(\.[A-Z][A-Za-z0-9]+)*")
MAKERS = {"AlibabaCloudError", "invalid", "unauthorized", "hh_mm_z", "InstanceValueError"}


def codes_in_the_layer() -> dict[str, str]:
    """Every code a call that makes an error names, and every ``ErrorCode=`` a result is given."""
    found: dict[str, str] = {}
    for path in (ROOT / "layers" / "alibaba_cloud" / "alibaba_cloud").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            values = [node.args[0]] if name in MAKERS and node.args else []
            values += [kw.value for kw in node.keywords if kw.arg == "ErrorCode"]
            for value in values:
                if isinstance(value, ast.Constant) and isinstance(value.value, str) and CODE.fullmatch(value.value):
                    found.setdefault(value.value, path.name)
    return found


def test_every_code_the_layer_answers_is_in_the_readme():
    codes = codes_in_the_layer()
    assert len(codes) > 35
    assert "Webhook.InvalidTimestamp" in codes
    readme = (ROOT / "README.md").read_text()
    missing = {code: where for code, where in codes.items() if f"`{code}`" not in readme}
    assert missing == {}


def test_every_template_parameter_is_in_the_readme():
    from local import template as local_template

    readme = (ROOT / "README.md").read_text()
    deploying = readme[readme.index("## Deploying") : readme.index("## Troubleshooting by error code")]
    parameters = local_template.load()["Parameters"]
    assert [name for name in parameters if f"`{name}`" not in deploying] == []


def test_the_readmes_deploy_override_reaches_sam_as_written():
    """SAM splits an override at its first space unless quoted inside the argument: the README's must survive."""
    import json
    import shlex

    from samcli.cli.types import CfnParameterOverridesType

    readme = (ROOT / "README.md").read_text()
    block = readme[readme.index("sam deploy --parameter-overrides") :]
    command = block[: block.index("```")].replace("\\\n", " ")
    arguments = shlex.split(command)[3:]
    overrides = CfnParameterOverridesType().convert(tuple(arguments), None, None)
    assert overrides["AutoReleaseTimeSchedule"] == "cron(0 2 * * ? *)"
    assert overrides["AutoReleaseTimeScheduleState"] == "ENABLED"
    assert json.loads(overrides["AutoReleaseTimeInput"]) == {
        "InstanceId": "i-bp1env7nl3mijm2t****",
        "RegionId": "cn-hangzhou",
    }
