"""No stored Alibaba key: the function's own AWS role asks AWS STS (a stand-in on 127.0.0.1 that checks
SigV4 and signs RS256 JWTs) for a web identity token, and the emulator's Alibaba STS exchanges it
(AssumeRoleWithOIDC, checked against the stand-in's JWKS) for STS credentials its gateways accept."""

from __future__ import annotations

import threading

import pytest

from alibaba_cloud.errors import AlibabaCloudError
from helpers import GOOD, MAINTAIN, REDIS_ID, emf
from local.emulator.sts import OidcProvider
from local.runtime import environment, load_function
from local.sts_api import StsStandIn

LAMBDA_ROLE = "arn:aws:iam::123456789012:role/lifecycle-maintain"
RAM_ROLE = "acs:ram::1234567890123456:role/lifecycle"
PROVIDER = "acs:ram::1234567890123456:oidc-provider/aws-lambda"
AUDIENCE = "sts.aliyuncs.com"
ROLE_KEY, ROLE_SECRET = "ASIALAMBDAROLEKEY01", "lambda-role-secret-value"


@pytest.fixture
def aws_sts():
    stand_in = StsStandIn({ROLE_KEY: (ROLE_SECRET, LAMBDA_ROLE)}, (AUDIENCE,)).start()
    yield stand_in
    stand_in.stop()


@pytest.fixture
def trusted(emulator, aws_sts):
    """The RAM OIDC provider registered with the issuer and the JWKS it publishes; the role trusts the Lambda role."""
    import requests

    jwks_uri = requests.get(aws_sts.url + "/.well-known/openid-configuration", timeout=5).json()["jwks_uri"]
    jwks = requests.get(jwks_uri, timeout=5).json()
    provider = OidcProvider(PROVIDER, aws_sts.issuer, (AUDIENCE,), jwks, {RAM_ROLE: LAMBDA_ROLE})
    emulator.state.oidc_providers[PROVIDER] = provider
    return provider


@pytest.fixture
def role_env(function_env, emulator, aws_sts):
    """A deployment with no Alibaba key at all: only the Lambda role's own AWS credentials."""
    env = {
        "ALIBABA_CLOUD_ACCESS_KEY_ID": None,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": None,
        "ALIBABA_CLOUD_CREDENTIALS_SOURCE": "oidc",
        "ALIBABA_CLOUD_ROLE_ARN": RAM_ROLE,
        "ALIBABA_CLOUD_OIDC_PROVIDER_ARN": PROVIDER,
        "ALIBABA_CLOUD_OIDC_AUDIENCE": AUDIENCE,
        "ALIBABA_CLOUD_STS_ENDPOINT": emulator.url,
        "AWS_ENDPOINT_URL_STS": aws_sts.url,
        "AWS_ACCESS_KEY_ID": ROLE_KEY,
        "AWS_SECRET_ACCESS_KEY": ROLE_SECRET,
        "AWS_SESSION_TOKEN": "lambda-role-session-token",
        "AWS_REGION": "us-east-1",
    }
    with environment(env):
        yield env


def sts_calls(emulator) -> int:
    return sum(r.Action == "AssumeRoleWithOIDC" for r in emulator.state.received)


def test_a_run_signs_with_sts_credentials_from_the_role_and_no_stored_key(
    emulator, trusted, role_env, aws_sts, context
):
    maintain = load_function(MAINTAIN)
    result = maintain.lambda_handler(GOOD, context)
    assert result["Outcome"] == "Succeeded"
    assert emulator.state.instances[REDIS_ID].MaintainStartTime == GOOD["MaintainStartTime"]
    write = emulator.state.writes[0]
    assert write.AccessKeyId in emulator.state.expiry  # signed with the STS key AssumeRoleWithOIDC issued
    assert write.AccessKeyId.startswith("STS.")
    assert aws_sts.issued[0]["sub"] == LAMBDA_ROLE
    assert aws_sts.issued[0]["aud"] == AUDIENCE
    maintain.lambda_handler(GOOD, context)  # a warm container keeps its credentials
    assert (len(aws_sts.issued), sts_calls(emulator)) == (1, 1)


def test_credentials_are_renewed_before_they_expire_once_for_all_threads(emulator, trusted, role_env, aws_sts):
    from alibaba_cloud.aws.client import aws_fetcher
    from alibaba_cloud.aws.sts import WebIdentityTokens
    from alibaba_cloud.rpc.oidc import OidcCredentials
    from alibaba_cloud.rpc.transport import Transport

    now = [0.0]
    tokens = WebIdentityTokens(role_env, aws_fetcher(), AUDIENCE)
    provider = OidcCredentials(tokens, Transport(5, 5), emulator.url, RAM_ROLE, PROVIDER, "test", 900, lambda: now[0])
    got = []
    threads = [threading.Thread(target=lambda: got.append(provider.get())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert provider.renewals == 1
    assert len({c.access_key_id for c in got}) == 1  # one renewal, shared
    now[0] = 900 * 0.79
    assert provider.get() is got[0]  # still well within its time
    now[0] = 900 * 0.8  # a fifth of it left: renewed, whatever either cloud's clock says
    assert provider.get().access_key_id != got[0].access_key_id
    assert provider.renewals == 2


def test_expired_sts_credentials_are_refused_by_the_gateway(emulator, trusted, role_env, context):
    from datetime import timedelta

    maintain = load_function(MAINTAIN)
    maintain.lambda_handler(GOOD, context)
    key = next(k for k in emulator.state.expiry)
    emulator.state.expiry[key] = emulator.state.now() - timedelta(seconds=1)
    with pytest.raises(AlibabaCloudError, match=r"InvalidSecurityToken\.Expired"):
        maintain.lambda_handler(GOOD, context)


@pytest.mark.parametrize(
    ("change", "step", "code"),
    [
        ("federation off", "Credentials.WebIdentityTokenFailed", "OutboundWebIdentityFederationDisabledException"),
        ("audience IAM does not grant", "Credentials.WebIdentityTokenFailed", "AccessDenied"),
        (
            "audience RAM does not take",
            "Credentials.AssumeRoleWithOIDCFailed",
            "AuthenticationFail.OIDCToken.AudienceNotMatch",
        ),
        ("another issuer", "Credentials.AssumeRoleWithOIDCFailed", "AuthenticationFail.OIDCToken.IssuerNotMatch"),
        ("stale fingerprint", "Credentials.AssumeRoleWithOIDCFailed", "AuthenticationFail.OIDCToken.HttpsUrlInvalid"),
        ("trust pinned elsewhere", "Credentials.AssumeRoleWithOIDCFailed", "AuthenticationFail.NoPermission"),
        ("another key", "Credentials.AssumeRoleWithOIDCFailed", "AuthenticationFail.OIDCToken.InvalidSignature"),
    ],
)
def test_each_refusal_names_its_step_and_both_clouds_codes(
    emulator, trusted, role_env, aws_sts, context, capsys, change, step, code
):
    if change == "federation off":
        aws_sts.federation_enabled = False
    elif change == "audience IAM does not grant":
        aws_sts.audiences = ("someone-else",)
    elif change == "audience RAM does not take":
        trusted.client_ids = ("another-client",)
    elif change == "another issuer":
        trusted.issuer = "https://elsewhere.example"
    elif change == "stale fingerprint":
        trusted.fingerprint_matches = False
    elif change == "trust pinned elsewhere":
        trusted.roles[RAM_ROLE] = "arn:aws:iam::123456789012:role/another-function"
    else:
        trusted.jwks = StsStandIn({}, (AUDIENCE,)).jwks()
    maintain = load_function(MAINTAIN)
    with pytest.raises(AlibabaCloudError) as raised:
        maintain.lambda_handler(GOOD, context)
    assert raised.value.code == step
    assert code in raised.value.message
    assert emulator.state.writes == []
    assert sts_calls(emulator) <= 1  # a credential failure is not retried as if it were a throttle
    printed = capsys.readouterr()
    for secret in [ROLE_SECRET, "lambda-role-session-token", *(c[0] for c in emulator.state.credentials.values())]:
        assert secret not in printed.out + printed.err + str(raised.value)


def test_no_token_key_or_secret_of_either_cloud_is_logged(emulator, trusted, role_env, aws_sts, context, capsys):
    maintain = load_function(MAINTAIN)
    maintain.lambda_handler(GOOD, context)
    printed = capsys.readouterr()
    sts_secret, sts_token = next((s, t) for k, (s, t) in emulator.state.credentials.items() if k.startswith("STS."))
    for secret in (ROLE_SECRET, "lambda-role-session-token", sts_secret, sts_token):
        assert secret not in printed.out + printed.err


@pytest.mark.parametrize(
    "missing", ["ALIBABA_CLOUD_ROLE_ARN", "ALIBABA_CLOUD_OIDC_PROVIDER_ARN", "ALIBABA_CLOUD_OIDC_AUDIENCE"]
)
def test_role_credentials_without_their_settings_stop_the_cold_start(role_env, missing):
    from alibaba_cloud.config import ConfigurationError, Settings

    with pytest.raises(ConfigurationError, match=missing):
        Settings.from_env({**{k: v for k, v in role_env.items() if v is not None}, missing: ""})


# Many Alibaba accounts from one deployment

PROD_ROLE = "acs:ram::2222222222222222:role/lifecycle"


@pytest.fixture
def accounts(emulator, trusted, role_env):
    trusted.roles[PROD_ROLE] = LAMBDA_ROLE  # the prod account's role trusts the same Lambda role
    with environment({"ALIBABA_CLOUD_ROLES": f"prod-cn={PROD_ROLE} dev-cn={RAM_ROLE}"}):
        yield


def test_an_event_acts_in_a_configured_account_its_credentials_kept_apart(emulator, accounts, context, capsys):
    maintain = load_function(MAINTAIN)
    prod = maintain.lambda_handler({**GOOD, "Account": "prod-cn"}, context)
    dev = maintain.lambda_handler({**GOOD, "Account": "dev-cn"}, context)
    maintain.lambda_handler({**GOOD, "Account": "prod-cn"}, context)  # kept: no new exchange
    assert (prod["Account"], dev["Account"]) == ("prod-cn", "dev-cn")
    exchanges = [r.Parameters["RoleArn"] for r in emulator.state.received if r.Action == "AssumeRoleWithOIDC"]
    assert exchanges == [PROD_ROLE, RAM_ROLE]
    keys = [r.AccessKeyId for r in emulator.state.writes]
    assert keys[0] == keys[2] != keys[1]  # each account signs with its own role's credentials
    assert maintain.logger.get_current_keys()["account"] == "prod-cn"  # every log line of the run names it
    blobs = emf(capsys.readouterr().out)
    assert any(b.get("Account") == "prod-cn" for b in blobs)  # the metrics blob names it (as metadata)
    assert all("Account" not in d for b in blobs for m in b["_aws"]["CloudWatchMetrics"] for d in m["Dimensions"])


@pytest.mark.parametrize("account", ["staging", "acs:ram::2222222222222222:role/lifecycle", 7])
def test_an_account_that_is_not_configured_is_refused_before_any_call(emulator, accounts, context, account):
    with pytest.raises(AlibabaCloudError, match=r"^Account\.NotConfigured: "):
        load_function(MAINTAIN).lambda_handler({**GOOD, "Account": account}, context)
    assert emulator.state.received == []


def test_accounts_need_role_credentials(role_env):
    from alibaba_cloud.config import ConfigurationError, Settings

    env = {k: v for k, v in role_env.items() if v is not None}
    with pytest.raises(ConfigurationError, match="ALIBABA_CLOUD_ROLES needs"):
        Settings.from_env(
            {**env, "ALIBABA_CLOUD_CREDENTIALS_SOURCE": "accesskey", "ALIBABA_CLOUD_ROLES": f"p={PROD_ROLE}"}
        )
    with pytest.raises(ConfigurationError, match="is not name="):
        Settings.from_env({**env, "ALIBABA_CLOUD_ROLES": "prod-cn=arn:aws:iam::1:role/x"})
    with pytest.raises(ConfigurationError, match="twice"):
        Settings.from_env({**env, "ALIBABA_CLOUD_ROLES": f"p={PROD_ROLE} p={RAM_ROLE}"})


def test_the_exchange_is_the_official_sts_clients_and_its_answer_reads_in_its_model(
    emulator, trusted, role_env, aws_sts
):
    """alibabacloud_sts20150401 (a test-only oracle) sends the same names, anonymously, and reads the
    emulator's answer into its model; the layer's own exchange is the same request."""
    from alibabacloud_sts20150401 import models as sts_models
    from alibabacloud_sts20150401.client import Client as StsClient
    from alibabacloud_tea_openapi.models import Config

    from alibaba_cloud.aws.client import aws_fetcher
    from alibaba_cloud.aws.sts import WebIdentityTokens
    from alibaba_cloud.rpc.oidc import OidcCredentials
    from alibaba_cloud.rpc.transport import Transport

    token = WebIdentityTokens(role_env, aws_fetcher(), AUDIENCE)(None)
    client = StsClient(Config(endpoint=emulator.url.removeprefix("http://"), protocol="http", type="anonymous"))
    answer = client.assume_role_with_oidc(
        sts_models.AssumeRoleWithOIDCRequest(
            oidcprovider_arn=PROVIDER,
            role_arn=RAM_ROLE,
            oidctoken=token,
            role_session_name="oracle",
            duration_seconds=3600,
        )
    ).body
    assert answer.credentials.access_key_id.startswith("STS.")
    assert answer.credentials.security_token
    official = next(r for r in emulator.state.received if r.Action == "AssumeRoleWithOIDC")
    OidcCredentials(lambda _: token, Transport(5, 5), emulator.url, RAM_ROLE, PROVIDER, "layer").get()
    ours = [r for r in emulator.state.received if r.Action == "AssumeRoleWithOIDC"][-1]
    assert set(ours.Parameters) == set(official.Parameters)
    assert ours.AccessKeyId is official.AccessKeyId is None  # anonymous, both


def test_the_token_request_is_botocores(role_env, aws_sts):
    """botocore's STS model (a test-only oracle) serializes GetWebIdentityToken to the same form, and
    parses the stand-in's answer."""
    from urllib.parse import parse_qsl

    import botocore.session
    from botocore.parsers import create_parser
    from botocore.serialize import create_serializer

    model = botocore.session.get_session().get_service_model("sts").operation_model("GetWebIdentityToken")
    botocore_form = create_serializer("query").serialize_to_request(
        {"Audience": [AUDIENCE], "SigningAlgorithm": "RS256", "DurationSeconds": 300}, model
    )["body"]
    from alibaba_cloud.aws.sts import WebIdentityTokens

    sent = []
    tokens = WebIdentityTokens(role_env, _Recording(sent), AUDIENCE)
    tokens(None)
    assert dict(parse_qsl(sent[0][1].decode())) == {k: str(v) for k, v in botocore_form.items()}
    parsed = create_parser("query").parse({"status_code": 200, "headers": {}, "body": sent[0][2]}, model.output_shape)
    assert parsed["WebIdentityToken"].count(".") == 2


class _Recording:
    """A fetcher that sends through the real one and keeps (url, body, answer body)."""

    def __init__(self, sent: list) -> None:
        from alibaba_cloud.aws.client import aws_fetcher

        self.sent, self.fetcher = sent, aws_fetcher()

    def post(self, url, body, headers, deadline):
        answer = self.fetcher.post(url, body, headers, deadline)
        self.sent.append((url, body, answer.content))
        return answer


def test_the_emulator_serves_assume_role_signed_as_the_official_client_sends_it(emulator):
    """AssumeRole (signed) for the local twin, read by alibabacloud_sts20150401; its credentials expire."""
    from alibabacloud_sts20150401 import models as sts_models
    from alibabacloud_sts20150401.client import Client as StsClient
    from alibabacloud_tea_openapi.models import Config

    from helpers import ACCESS_KEY_ID, ACCESS_KEY_SECRET

    emulator.state.assumable.add(PROD_ROLE)
    config = Config(
        endpoint=emulator.url.removeprefix("http://"),
        protocol="http",
        access_key_id=ACCESS_KEY_ID,
        access_key_secret=ACCESS_KEY_SECRET,
    )
    answer = (
        StsClient(config)
        .assume_role(sts_models.AssumeRoleRequest(role_arn=PROD_ROLE, role_session_name="oracle", duration_seconds=900))
        .body
    )
    assert answer.credentials.access_key_id in emulator.state.expiry
    with pytest.raises(Exception, match="NoPermission"):
        StsClient(config).assume_role(sts_models.AssumeRoleRequest(role_arn=RAM_ROLE, role_session_name="oracle"))


def test_a_clock_skew_between_the_clouds_does_not_break_the_credentials(emulator, trusted, role_env, context):
    from datetime import timedelta

    # Alibaba's clock two minutes ahead of the function's: within the token's five minutes (a skew past the
    # token's lifetime would make it look expired there, the README says so)
    emulator.state.clock_skew = timedelta(minutes=2)
    maintain = load_function(MAINTAIN)
    assert maintain.lambda_handler(GOOD, context)["Outcome"] == "Succeeded"
    assert maintain.lambda_handler(GOOD, context)["Outcome"] == "Succeeded"  # kept, still valid there


def test_a_change_in_another_account_is_recorded_with_it(emulator, accounts, aws, context):
    from alibaba_cloud.config import Settings
    from alibaba_cloud.runs.store import RunsStore

    with environment(
        {k: v for k, v in aws.environment().items() if not k.startswith("AWS_ACCESS") and "SECRET" not in k}
    ):
        maintain = load_function(MAINTAIN)
        done = maintain.lambda_handler({**GOOD, "Account": "prod-cn"}, context)
        store = RunsStore(aws.client("dynamodb", "DynamoDB_20120810"), Settings.from_env().runs_table or "")
    assert done["Records"] == {"Stored": 1}
    assert [c["Account"] for c in store.changes(done["CorrelationId"], None)] == ["prod-cn"]
