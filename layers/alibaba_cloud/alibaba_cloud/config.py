"""Settings, read once per container from the environment into a frozen dataclass."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

EXACTLY_ONE_HOUR = "exactly-one-hour"
AT_LEAST_ONE_HOUR = "at-least-one-hour"
MAX_CHANGES = 5000  # MAX_CHANGES' own ceiling: no invocation writes more targets (events.keys.MAX_TARGETS)


class ConfigurationError(ValueError):
    """A setting has a value the layer cannot use; raised at cold start, before any call."""


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "")
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number of seconds, not {raw!r}") from None
    if value <= 0:
        raise ConfigurationError(f"{name} must be positive, not {raw!r}")
    return value


def _whole_number(env: Mapping[str, str], name: str, default: int, most: int) -> int:
    raw = env.get(name, "")
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= most):
        raise ConfigurationError(f"{name} must be a whole number from 1 to {most}, not {raw!r}")
    return int(raw)


def _tag_key(env: Mapping[str, str], name: str, default: str) -> str:
    raw = env.get(name, "") or default
    if not 1 <= len(raw) <= 128 or not raw.isprintable():
        raise ConfigurationError(f"{name} must be a tag key of 1 to 128 printable characters")
    return raw


def _oidc(env: Mapping[str, str]) -> dict[str, object]:
    """The role credentials' settings (the names Alibaba's own credentials chain reads), checked at cold start."""
    source = _choice(env, "ALIBABA_CLOUD_CREDENTIALS_SOURCE", "accesskey", ("accesskey", "oidc"))
    found = {
        "role_arn": env.get("ALIBABA_CLOUD_ROLE_ARN") or None,
        "oidc_provider_arn": env.get("ALIBABA_CLOUD_OIDC_PROVIDER_ARN") or None,
        "oidc_audience": env.get("ALIBABA_CLOUD_OIDC_AUDIENCE") or None,
    }
    if source == "oidc":
        missing = [name for name, value in found.items() if value is None]
        if missing:
            names = {
                "role_arn": "ALIBABA_CLOUD_ROLE_ARN",
                "oidc_provider_arn": "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
                "oidc_audience": "ALIBABA_CLOUD_OIDC_AUDIENCE",
            }
            raise ConfigurationError(
                f"ALIBABA_CLOUD_CREDENTIALS_SOURCE=oidc needs {', '.join(names[m] for m in missing)}"
            )
    sts = env.get("ALIBABA_CLOUD_STS_ENDPOINT") or None
    if sts and not sts.startswith(("http://", "https://")):
        raise ConfigurationError(f"ALIBABA_CLOUD_STS_ENDPOINT must be a base URL with its scheme, not {sts!r}")
    seconds = _number(env, "ALIBABA_CLOUD_ROLE_SESSION_SECONDS", 3600)
    if not 900 <= seconds <= 43200:
        raise ConfigurationError("ALIBABA_CLOUD_ROLE_SESSION_SECONDS must be from 900 to 43200")
    roles = _roles(env.get("ALIBABA_CLOUD_ROLES", ""))
    if roles and source != "oidc":
        raise ConfigurationError(
            "ALIBABA_CLOUD_ROLES needs ALIBABA_CLOUD_CREDENTIALS_SOURCE=oidc: "
            "each account's role is assumed with the function's own identity"
        )
    return {
        **found,
        "credentials_source": source,
        "sts_endpoint": sts,
        "role_session_seconds": int(seconds),
        "roles": roles,
    }


ROLE_ARN = re.compile(r"acs:ram::\d+:role/[\w.@+=,-]{1,64}")
ACCOUNT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def _roles(text: str) -> tuple[tuple[str, str], ...]:
    """``prod-cn=acs:ram::<uid>:role/<name>`` pairs separated by spaces or commas."""
    pairs = []
    for item in text.replace(",", " ").split():
        name, _, arn = item.partition("=")
        if not ACCOUNT_NAME.fullmatch(name) or not ROLE_ARN.fullmatch(arn):
            raise ConfigurationError(
                f"ALIBABA_CLOUD_ROLES: {item!r} is not name=acs:ram::<account id>:role/<role name>"
            )
        pairs.append((name, arn))
    if len({name for name, _ in pairs}) != len(pairs):
        raise ConfigurationError("ALIBABA_CLOUD_ROLES names an account twice")
    return tuple(pairs)


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env.get(name) or default
    if value not in choices:
        raise ConfigurationError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


MAX_NOTIFY_URLS = 10


def _notify_urls(env: Mapping[str, str]) -> tuple[str, ...]:
    urls = tuple(env.get("NOTIFY_URLS", "").split())
    if len(urls) > MAX_NOTIFY_URLS:
        raise ConfigurationError(f"NOTIFY_URLS lists {len(urls)} URLs; at most {MAX_NOTIFY_URLS}")
    return urls


def _networks(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    import ipaddress

    networks = tuple(env.get(name, "").split())
    for network in networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ConfigurationError(f"{name} must list networks in CIDR form (127.0.0.0/8), not {network!r}") from None
    return networks


@dataclass(frozen=True)
class Settings:
    """What the layer needs to know about its deployment.

    Names follow the official SDKs where they have one (``ALIBABA_CLOUD_*``), so the same
    environment drives this layer, the Alibaba CLI and the SDKs.
    """

    region_id: str | None = None
    endpoint: str | None = None  # full base URL, e.g. http://127.0.0.1:8080 for the emulator
    network: str = "public"  # or "vpc": the product's VPC endpoint, where it has one
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    maintain_window: str = EXACTLY_ONE_HOUR
    credentials_secret_id: str | None = None
    webhook_secret: str | None = None
    webhook_secret_id: str | None = None
    webhook_tolerance_seconds: float = 300.0
    # how long a webhook's caller waits: API Gateway's HTTP API answers 503 after 30 s, so work that
    # cannot be written by then is answered 202 and goes on in an asynchronous run of this function
    webhook_sync_seconds: float = 25.0
    function_name: str | None = None  # this function's own name (Lambda sets it): where that run goes
    webhook_replay_table: str | None = None  # DynamoDB table of webhook ids seen, shared by all containers
    targets_dead_letter_queue_url: str | None = None  # where a queued event that can never succeed goes at once
    secrets_cache_seconds: float = 300.0
    secrets_extension_port: int = 2773
    max_hops: int = 8
    max_invocations: int = 32  # a whole chain's, every branch together
    notify_urls: tuple[str, ...] = ()
    notify_allow_http: bool = False
    notify_allowed_hosts: frozenset[str] = frozenset()
    notify_allowed_networks: tuple[str, ...] = ()
    signature_version: str = "v3"  # "v3" (ACS3-HMAC-SHA256, the official SDKs' default) or "v2" (HMAC-SHA1)
    max_attempts: int = 4
    retry_base_delay: float = 0.2
    retry_max_delay: float = 5.0
    deadline_margin: float = 1.0
    # an instance carrying this tag key (any value) is never written by this product
    protect_tag_key: str = "lifecycle-protect"
    max_changes: int = 100  # the most targets one run may change; an event may lower it, never raise it
    runs_table: str | None = None  # DynamoDB table of plans, change records and run statuses
    plan_ttl_seconds: float = 24 * 3600.0  # how long a plan may be applied
    records_ttl_seconds: float = 30 * 86400.0  # how long change records and run statuses are kept
    # "accesskey" (the environment's, or the secret's) or "oidc": STS credentials from the function's own AWS
    # role, its web identity token exchanged through AssumeRoleWithOIDC (nothing long-lived stored)
    credentials_source: str = "accesskey"
    role_arn: str | None = None
    oidc_provider_arn: str | None = None
    oidc_audience: str | None = None
    sts_endpoint: str | None = None  # Alibaba STS base URL (a local stand-in); else the region's host
    role_session_seconds: int = 3600
    # account name -> RAM role ARN (ALIBABA_CLOUD_ROLES): an event's "Account" acts in that account's role
    roles: tuple[tuple[str, str], ...] = ()

    def __repr__(self) -> str:  # the webhook secret may be inline: never print it
        return f"Settings(region_id={self.region_id!r}, endpoint={self.endpoint!r}, network={self.network!r})"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        endpoint = env.get("ALIBABA_CLOUD_ENDPOINT") or None
        if endpoint and not endpoint.startswith(("http://", "https://")):
            raise ConfigurationError(f"ALIBABA_CLOUD_ENDPOINT must be a base URL with its scheme, not {endpoint!r}")
        return cls(
            region_id=env.get("ALIBABA_CLOUD_REGION_ID") or None,
            endpoint=endpoint.rstrip("/") if endpoint else None,
            network=_choice(env, "ALIBABA_CLOUD_NETWORK", "public", ("public", "vpc")),
            connect_timeout=_number(env, "ALIBABA_CLOUD_CONNECT_TIMEOUT", 5.0),
            read_timeout=_number(env, "ALIBABA_CLOUD_READ_TIMEOUT", 10.0),
            maintain_window=_choice(
                env, "MAINTAIN_WINDOW_RULE", EXACTLY_ONE_HOUR, (EXACTLY_ONE_HOUR, AT_LEAST_ONE_HOUR)
            ),
            credentials_secret_id=env.get("ALIBABA_CLOUD_CREDENTIALS_SECRET_ID") or None,
            webhook_secret=env.get("WEBHOOK_SECRET") or None,
            webhook_secret_id=env.get("WEBHOOK_SECRET_ID") or None,
            webhook_tolerance_seconds=_number(env, "WEBHOOK_TOLERANCE_SECONDS", 300.0),
            webhook_sync_seconds=min(_number(env, "WEBHOOK_SYNC_SECONDS", 25.0), 28.0),
            function_name=env.get("AWS_LAMBDA_FUNCTION_NAME") or None,
            webhook_replay_table=env.get("WEBHOOK_REPLAY_TABLE") or None,
            targets_dead_letter_queue_url=env.get("TARGETS_DEAD_LETTER_QUEUE_URL") or None,
            secrets_cache_seconds=_number(env, "SECRETS_CACHE_SECONDS", 300.0),
            secrets_extension_port=int(_number(env, "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", 2773)),
            max_hops=int(_number(env, "CHAIN_MAX_HOPS", 8)),
            max_invocations=int(_number(env, "CHAIN_MAX_INVOCATIONS", 32)),
            notify_urls=_notify_urls(env),
            notify_allow_http=_choice(env, "NOTIFY_ALLOW_HTTP", "false", ("true", "false")) == "true",
            notify_allowed_hosts=frozenset(h.lower() for h in env.get("NOTIFY_ALLOWED_HOSTS", "").split()),
            notify_allowed_networks=_networks(env, "NOTIFY_ALLOWED_NETWORKS"),
            signature_version=_choice(env, "ALIBABA_CLOUD_SIGNATURE_VERSION", "v3", ("v3", "v2")),
            max_attempts=int(_number(env, "ALIBABA_CLOUD_MAX_ATTEMPTS", 4)),
            retry_base_delay=_number(env, "ALIBABA_CLOUD_RETRY_BASE_DELAY", 0.2),
            retry_max_delay=_number(env, "ALIBABA_CLOUD_RETRY_MAX_DELAY", 5.0),
            deadline_margin=_number(env, "ALIBABA_CLOUD_DEADLINE_MARGIN", 1.0),
            protect_tag_key=_tag_key(env, "PROTECT_TAG_KEY", "lifecycle-protect"),
            max_changes=_whole_number(env, "MAX_CHANGES", 100, MAX_CHANGES),
            runs_table=env.get("RUNS_TABLE") or None,
            plan_ttl_seconds=_number(env, "PLAN_TTL_HOURS", 24.0) * 3600,
            records_ttl_seconds=_number(env, "RECORDS_TTL_DAYS", 30.0) * 86400,
            **_oidc(env),
        )
