"""Actions as declarations: product, version, parameters, rules, and how a fleet is read and compared.

Adding an action to the product is adding a declaration (``actions/<product>.py``) and a
three-line function: validation, signing, transport, triggers, fleets and chains come from the layer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..config import Settings
from ..errors import invalid
from ..events.keys import BATCH_KEYS, CHAIN_KEYS
from ..rpc.client import RpcRequest
from ..rpc.endpoints import Product
from . import validation as v

Check = Callable[[str, str, v.ValidationContext], str]
Rule = Callable[[Mapping[str, str], v.ValidationContext], None]
Resolve = Callable[[Mapping[str, object], v.ValidationContext], dict[str, object]]
Record = dict[str, Any]


@dataclass(frozen=True)
class Convenience:
    """Keys that are not the action's parameters but resolve into them.

    ``AutoReleaseAfter``, ``TimeZone`` and ``Tags`` are the conveniences the declarations use.
    """

    keys: tuple[str, ...]
    resolve: Resolve


@dataclass(frozen=True)
class Parameter:
    name: str
    required: bool = False
    check: Check = v.any_text
    public: bool = True  # False: only a convenience writes it (``Tag.1.Key`` comes from ``Tags``)
    max_length: int = v.MAX_VALUE_LENGTH


@dataclass(frozen=True)
class ByIds:
    """How a Describe action reads named instances: the parameter, how many a call, how they are joined."""

    parameter: str
    most: int
    encode: Callable[[Sequence[str]], str]


@dataclass(frozen=True)
class TagIndex:
    """The action that lists the IDs carrying tags, where the Describe action's own tag filter stops
    short (ECS: at most 1,000 resources); the IDs are then described by :class:`ByIds`."""

    action: Action
    fixed: Mapping[str, str]  # parameters every call sends (``ResourceType``)


# A filter an event may ask of a listing, applied to each record as it is read: (value, now) -> keep(record)
RecordFilter = Callable[[object, datetime], Callable[[Record], bool]]


@dataclass(frozen=True)
class Listing:
    """How a Describe action answers a list: where the items are, how it pages, what a record keeps.

    ``paging`` is ``"token"`` (``NextToken`` until the answer gives none: ECS) or ``"number"``
    (``PageNumber`` until ``TotalCount`` items are read: R-kvstore). ``max_tags`` is how many tag pairs
    a call may filter on (a selection filters the rest itself); ``filters`` are event keys applied here,
    not sent.
    """

    items: tuple[str, ...]
    paging: str
    page_size_parameter: str | None
    page_size: int
    record: Callable[[Mapping[str, Any], str], Record]  # (item, region) -> inventory record
    max_tags: int = 0
    by_ids: ByIds | None = None
    tag_index: TagIndex | None = None
    filters: Mapping[str, RecordFilter] = field(default_factory=dict)


@dataclass(frozen=True)
class Fleet:
    """How a modify action acts on instances selected by tags.

    ``describe`` reads the selection; ``skip`` names why an instance is never written (a
    subscription instance has no release time); ``unchanged`` tells from the record whether the
    instance already has the values the parameters would set (``None``: the record does not say,
    so every target is written).
    """

    describe: Action
    skip: Callable[[Record], str | None] = lambda record: None
    unchanged: Callable[[Mapping[str, str], Record, datetime], bool] | None = None
    # whether the write would lift a protection the record shows (ECS: a release time on an instance
    # with release protection, which guards against a manual release only); OverrideProtection lifts it
    protected: Callable[[Mapping[str, str], Record], bool] = lambda params, record: False
    # a plan's apply and an undo write nothing to an instance whose watched fields changed (Drifted)
    watched: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()  # the parameters a write sets: a change record's After, and Before where read
    # the parameters that put a change's Before back (None: Before was not read, so no undo)
    undo: Callable[[Mapping[str, Any]], dict[str, Any] | None] = lambda before: None
    safer: Callable[[Mapping[str, str]], bool] = lambda params: False  # only makes it safer: never capped

    def before(self, record: Record) -> dict[str, Any]:
        """What the record says of the values a write sets (none for what the Describe action does not tell)."""
        return {name: record[name] for name in self.changed if name in record}

    def protection(self, params: Mapping[str, str] | None, record: Record, protect_tag: str) -> str | None:
        """Why ``record``'s instance is not written: it carries the protection tag (``ProtectTag``, for
        any write), or the write would lift a protection it shows (``DeletionProtection``); else None.
        ``params`` None: the write is not known yet (only the tag is judged)."""
        if protect_tag in (record.get("Tags") or {}):
            return "ProtectTag"
        if params is not None and self.protected(params, record):
            return "DeletionProtection"
        return None


@dataclass(frozen=True)
class Action:
    product: Product
    name: str
    parameters: tuple[Parameter, ...]
    rules: tuple[Rule, ...] = ()
    conveniences: tuple[Convenience, ...] = ()
    method: str = "POST"  # what the official SDKs send for these actions
    listing: Listing | None = None  # a Describe action that answers a list
    fleet: Fleet | None = None  # a modify action that can act on a Select

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters if p.public)

    @property
    def accepted_names(self) -> tuple[str, ...]:
        filters = tuple(self.listing.filters) if self.listing else ()
        return self.parameter_names + tuple(key for c in self.conveniences for key in c.keys) + filters

    @property
    def takes_region(self) -> bool:
        """Whether ``RegionId`` is one of the action's parameters (else it only picks the host)."""
        return "RegionId" in self.parameter_names

    def unsupported(self, names: list[str]) -> str:
        """Which names are not taken, and every key an event for this action may carry, in one sentence."""
        shown = ", ".join(map(repr, names))
        subject = f"The parameter {shown} is" if len(names) == 1 else f"The parameters {shown} are"
        batch = () if self.listing else tuple(k for k in BATCH_KEYS if k != "Select" or self.fleet)
        takes = (
            f"{self.name} takes {', '.join(self.accepted_names)}; "
            f"beside them, an event may carry {', '.join(CHAIN_KEYS)}"
        )
        return f"{subject} unsupported: {takes}" + (f", and for many targets {', '.join(batch)}." if batch else ".")

    def validate(self, given: Mapping[str, object], ctx: v.ValidationContext) -> dict[str, str]:
        """The parameters to send, or the first error Alibaba would answer for ``given``.

        Unknown names are refused, not dropped: a misspelt ``AutoReleaseTime`` would otherwise
        cancel an instance's release time instead of setting it.
        """
        accepted = self.accepted_names
        if self.listing is not None and self.listing.filters:  # applied to the records read, never sent
            given = {k: val for k, val in given.items() if k not in self.listing.filters}
        unknown = [name for name in given if name not in accepted]
        if unknown:
            raise invalid("UnsupportedParameter", self.unsupported(sorted(map(str, unknown))))
        required = {p.name for p in self.parameters if p.required}  # a null one is missing, as Alibaba says
        nulls = sorted(name for name, value in given.items() if value is None and name not in required)
        if nulls:  # a null AutoReleaseTime must not pass for a left-out one: that cancels the release
            raise invalid("InvalidParameter", f"The parameter {nulls[0]} is null: give it a value, or leave it out.")
        try:
            for convenience in self.conveniences:
                given = convenience.resolve(given, ctx)
        except OverflowError:
            raise invalid(
                "InvalidParameter", "The ScheduledTime and the parameters reach beyond any valid date."
            ) from None
        for parameter in self.parameters:
            if parameter.required and given.get(parameter.name) in (None, ""):
                raise invalid("MissingParameter", f"{parameter.name} should not be null.")
        params: dict[str, str] = {}
        for parameter in self.parameters:
            value = given.get(parameter.name)
            if value is None:
                continue
            if not isinstance(value, str):
                raise invalid(
                    "InvalidParameter",
                    f"The parameter {parameter.name} must be a string, not {type(value).__name__}.",
                )
            if len(value) > parameter.max_length:
                raise invalid(
                    "InvalidParameter",
                    f"The parameter {parameter.name} is longer than {parameter.max_length} characters.",
                )
            checked = parameter.check(parameter.name, value, ctx)
            if not checked.isprintable():  # a control character, or a lone surrogate that cannot be signed
                raise invalid("InvalidParameter", f"The parameter {parameter.name} must be printable text.")
            params[parameter.name] = checked
        for rule in self.rules:
            rule(params, ctx)
        return params

    def request(self, given: Mapping[str, object], ctx: v.ValidationContext, settings: Settings) -> RpcRequest:
        """The validated call for ``given``: parameters, and the region whose host takes them."""
        params = self.validate(given, ctx)
        region = params.get("RegionId") or settings.region_id
        if region:
            if "RegionId" not in params:
                v.region_id("ALIBABA_CLOUD_REGION_ID", region, ctx)
            if self.takes_region:
                params["RegionId"] = region  # the host and the parameter must agree
        elif not settings.endpoint:
            raise invalid(
                "MissingParameter",
                f"RegionId should not be null: {self.name} needs a region to pick its host; "
                "pass RegionId in the event or set ALIBABA_CLOUD_REGION_ID.",
            )
        return RpcRequest(self.product, self.name, params, region, self.method)


# Every action of both products' official models takes these four: the account a call acts for,
# when one account's key acts on another's resources (resellers, resource directories).
OWNER_PARAMETERS = (
    Parameter("OwnerId", check=v.whole_number(range(1, 2**63))),
    Parameter("OwnerAccount"),
    Parameter("ResourceOwnerAccount"),
    Parameter("ResourceOwnerId", check=v.whole_number(range(1, 2**63))),
)
OWNER_NAMES = frozenset(p.name for p in OWNER_PARAMETERS)


def owner_of(given: Mapping[str, Any]) -> dict[str, Any]:
    """The owner parameters among ``given``: a fleet's read acts for the same account as its writes."""
    return {name: value for name, value in given.items() if name in OWNER_NAMES}


def tag_parameters(count: int) -> tuple[Parameter, ...]:
    """``Tag.N.Key`` and ``Tag.N.Value`` for N from 1 to ``count``, written by the ``Tags`` convenience."""
    return tuple(
        Parameter(f"Tag.{n}.{part}", check=v.tag_text, public=False)
        for n in range(1, count + 1)
        for part in ("Key", "Value")
    )


def tags_convenience(count: int) -> Convenience:
    return Convenience(("Tags",), lambda given, ctx: v.tags_filter(given, ctx, count))


def item_tags(item: Mapping[str, Any], key: str, value: str) -> dict[str, str]:
    """``Tags.Tag[]`` of a Describe item as ``{key: value}``; ECS names them TagKey/TagValue, R-kvstore Key/Value."""
    tags = (item.get("Tags") or {}).get("Tag") or []
    return {t[key]: t.get(value) or "" for t in tags if isinstance(t, dict) and isinstance(t.get(key), str)}


MINUTES_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}Z")


def to_the_second(text: Any) -> Any:
    """A time as every record gives it, ``yyyy-MM-ddTHH:mm:ssZ``: ECS reads creation times back to the
    minute (``…T19:07Z``), R-kvstore to the second."""
    return text[:-1] + ":00Z" if isinstance(text, str) and MINUTES_ONLY.fullmatch(text) else text
