"""template.yaml as data: short-form intrinsics read, Parameters resolved to their defaults.

Used by the local cloud (``make serve``) and the tests, so both read the template the way
CloudFormation would, as far as running locally needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
PSEUDO = {
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "local",
}


class _Loader(yaml.SafeLoader):
    """Reads CloudFormation's short-form intrinsics (!Ref, !Sub, ...) as their long form."""


def _intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_Loader.add_multi_constructor("!", _intrinsic)


def load(path: Path = ROOT / "template.yaml") -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_Loader)


def resolve(value: Any, parameters: dict[str, Any]) -> Any:
    """Refs to Parameters and pseudo parameters, and simple !Sub strings, replaced by values."""
    if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in {**parameters, **PSEUDO}:
        return {**PSEUDO, **parameters}[value["Ref"]]
    if isinstance(value, dict) and set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
        names = {**PSEUDO, **parameters}
        return re.sub(r"\$\{([^}]+)\}", lambda m: str(names.get(m[1], m[0])), value["Fn::Sub"])
    if isinstance(value, dict):
        return {k: resolve(v, parameters) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, parameters) for v in value]
    return value


@dataclass
class FunctionSpec:
    logical_id: str
    code_dir: Path
    environment: dict[str, str] = field(default_factory=dict)
    routes: list[tuple[str, str]] = field(default_factory=list)  # (METHOD, path)
    schedules: dict[str, dict[str, Any]] = field(default_factory=dict)  # event name -> ScheduleV2 properties
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)  # event name -> EventBridgeRule properties
    on_success: str | None = None  # "EventBridge" or "SQS"
    on_failure: str | None = None
    timeout: int = 3  # seconds, Lambda's default


def functions(template: dict[str, Any], overrides: dict[str, Any] | None = None) -> dict[str, FunctionSpec]:
    """Every ``AWS::Serverless::Function`` with what running it locally needs."""
    parameters = {name: spec.get("Default") for name, spec in template.get("Parameters", {}).items()}
    parameters.update(overrides or {})
    globals_ = template.get("Globals", {}).get("Function", {})
    specs = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        props = {**globals_, **resource.get("Properties", {})}
        variables = {
            **globals_.get("Environment", {}).get("Variables", {}),
            **resource.get("Properties", {}).get("Environment", {}).get("Variables", {}),
        }
        spec = FunctionSpec(
            logical_id, ROOT / props["CodeUri"], timeout=int(resolve(props.get("Timeout", 3), parameters))
        )
        spec.environment = {k: str(v) for k, v in resolve(variables, parameters).items() if not isinstance(v, dict)}
        destinations = props.get("EventInvokeConfig", {}).get("DestinationConfig", {})
        spec.on_success = destinations.get("OnSuccess", {}).get("Type")
        spec.on_failure = destinations.get("OnFailure", {}).get("Type")
        for name, event in props.get("Events", {}).items():
            event_props = resolve(event.get("Properties", {}), parameters)
            if event["Type"] == "HttpApi":
                spec.routes.append((event_props["Method"].upper(), event_props["Path"]))
            elif event["Type"] == "ScheduleV2":
                spec.schedules[name] = event_props
            elif event["Type"] == "EventBridgeRule":
                spec.rules[name] = event_props
        specs[logical_id] = spec
    return specs
