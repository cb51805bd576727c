"""Actions as declarations: product, version, parameters and rules.

Adding an action to the product is adding a declaration here (or in the function's own code)
and a three-line handler: validation, signing, transport and events come from the layer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from . import validation as v
from .endpoints import ECS, R_KVSTORE, Product

Check = Callable[[str, str, v.ValidationContext], str]
Rule = Callable[[Mapping[str, str], v.ValidationContext], None]
Resolve = Callable[[Mapping[str, object], v.ValidationContext], dict[str, object]]


@dataclass(frozen=True)
class Convenience:
    """Keys that are not the action's parameters but resolve into them (``AutoReleaseAfter``, ``TimeZone``)."""

    keys: tuple[str, ...]
    resolve: Resolve


@dataclass(frozen=True)
class Parameter:
    name: str
    required: bool = False
    check: Check = v.any_text


@dataclass(frozen=True)
class Action:
    product: Product
    name: str
    parameters: tuple[Parameter, ...]
    rules: tuple[Rule, ...] = ()
    conveniences: tuple[Convenience, ...] = ()
    method: str = "POST"  # what the official SDKs send for these actions

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)

    @property
    def accepted_names(self) -> tuple[str, ...]:
        return self.parameter_names + tuple(key for c in self.conveniences for key in c.keys)

    @property
    def takes_region(self) -> bool:
        """Whether ``RegionId`` is one of the action's parameters (else it only picks the host)."""
        return "RegionId" in self.parameter_names

    def validate(self, given: Mapping[str, object], ctx: v.ValidationContext) -> dict[str, str]:
        """The parameters to send, or the first error Alibaba would answer for ``given``.

        Unknown names are refused, not dropped: a misspelt ``AutoReleaseTime`` would otherwise
        cancel an instance's release time instead of setting it.
        """
        accepted = self.accepted_names
        unknown = [name for name in given if name not in accepted]
        if unknown:
            raise v.invalid(
                "UnsupportedParameter",
                f"The parameters {', '.join(map(repr, sorted(map(str, unknown))))} are unsupported "
                f"by {self.name}; it takes {', '.join(accepted)}.",
            )
        for convenience in self.conveniences:
            given = convenience.resolve(given, ctx)
        for parameter in self.parameters:
            if parameter.required and given.get(parameter.name) in (None, ""):
                raise v.invalid("MissingParameter", f"{parameter.name} should not be null.")
        params: dict[str, str] = {}
        for parameter in self.parameters:
            value = given.get(parameter.name)
            if value is None:
                continue
            if not isinstance(value, str):
                raise v.invalid(
                    "InvalidParameter",
                    f"The parameter {parameter.name} must be a string, not {type(value).__name__}.",
                )
            if len(value) > v.MAX_VALUE_LENGTH:
                raise v.invalid(
                    "InvalidParameter",
                    f"The parameter {parameter.name} is longer than {v.MAX_VALUE_LENGTH} characters.",
                )
            params[parameter.name] = parameter.check(parameter.name, value, ctx)
        for rule in self.rules:
            rule(params, ctx)
        return params


MODIFY_INSTANCE_MAINTAIN_TIME = Action(
    product=R_KVSTORE,
    name="ModifyInstanceMaintainTime",
    parameters=(
        Parameter("InstanceId", required=True, check=v.instance_id),
        Parameter(
            "MaintainStartTime",
            required=True,
            check=v.hh_mm_z("InvalidStartTime.Format", "Specified start time is not valid."),
        ),
        Parameter(
            "MaintainEndTime",
            required=True,
            check=v.hh_mm_z("InvalidEndTime.Format", "Specified end time is not valid."),
        ),
    ),
    rules=(v.one_hour_window,),
    conveniences=(Convenience(("TimeZone",), v.local_window),),
)

MODIFY_INSTANCE_AUTO_RELEASE_TIME = Action(
    product=ECS,
    name="ModifyInstanceAutoReleaseTime",
    parameters=(
        Parameter("InstanceId", required=True, check=v.instance_id),
        Parameter("RegionId", check=v.region_id),
        Parameter("AutoReleaseTime", check=v.auto_release_time),
    ),
    conveniences=(Convenience(("AutoReleaseAfter",), v.release_after),),
)


