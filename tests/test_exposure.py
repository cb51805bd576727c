"""Safe to expose: what a signed caller, a hostile upstream or a hostile receiver cannot make the function do.

No request forgery into the function's own network, no request past the invocation's deadline, no
answer read into memory past its limit, no redirect followed with a signed request. Hostile peers
are real sockets on 127.0.0.1, scripted byte by byte.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import tracemalloc

import pytest

from alibaba_cloud.errors import AlibabaCloudError
from alibaba_cloud.http import fetch
from alibaba_cloud.http.addresses import UrlRefused, address_refusal, checked_url
from helpers import ECS_ID, GOOD, MAINTAIN, RELEASE, closed_port, in_future, unresolvable
from local.runtime import LambdaContext, environment, load_function

PUBLIC = "93.184.216.34"  # a global address; tests route it to a local receiver, nothing leaves the machine


class HostilePeer:
    """A TCP server on 127.0.0.1 that answers every connection with a script: bytes, pauses, or silence."""

    def __init__(self, script):
        self.script = script
        self.connections = 0
        self.requests: list[bytes] = []
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.server.accept()
            except OSError:
                continue
            self.connections += 1
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn):
        with conn:
            conn.settimeout(5)
            try:
                data = b""
                while b"\r\n\r\n" not in data and self.script != "silent":
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                self.requests.append(data)
                for step in self.script if self.script != "silent" else [10.0]:
                    if self.stopping.is_set():
                        return
                    if isinstance(step, float):
                        self.stopping.wait(step)
                    else:
                        conn.sendall(step)
            except OSError:
                return

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def close(self):
        self.stopping.set()
        self.server.close()
        self.thread.join(2)


@pytest.fixture
def peer():
    peers = []

    def make(script):
        peers.append(HostilePeer(script))
        return peers[-1]

    yield make
    for p in peers:
        p.close()


def drip(seconds: float, count: int, status: bytes = b"200 OK") -> list:
    """Headers promising a body, then one byte every ``seconds``: each read is quick, the answer never ends."""
    return [b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"] + [
        x for _ in range(count) for x in (seconds, b" ")
    ]


# 2. The deadline is wall-clock time


def test_a_dripping_upstream_cannot_hold_the_function_past_its_deadline(function_env, peer):
    upstream = peer(drip(0.3, 100))
    with environment({"ALIBABA_CLOUD_ENDPOINT": upstream.url}):
        maintain = load_function(MAINTAIN)
    started = time.monotonic()
    with pytest.raises(AlibabaCloudError) as raised:
        maintain.lambda_handler(GOOD, LambdaContext(remaining_ms=2500))
    took = time.monotonic() - started
    assert raised.value.code == "DeadlineExceeded"
    assert "may have been applied" in raised.value.message
    assert took < 2.5  # within the invocation (2.5 s): the failure is reported before Lambda's own deadline


def test_a_tls_handshake_that_never_ends_is_cut_at_the_deadline(function_env, peer):
    silent = peer("silent")
    with environment(
        {
            "ALIBABA_CLOUD_ENDPOINT": f"https://127.0.0.1:{silent.port}",
            "ALIBABA_CLOUD_CONNECT_TIMEOUT": "30",
            "ALIBABA_CLOUD_READ_TIMEOUT": "30",
        }
    ):
        maintain = load_function(MAINTAIN)
    started = time.monotonic()
    with pytest.raises(AlibabaCloudError) as raised:
        maintain.lambda_handler(GOOD, LambdaContext(remaining_ms=2000))
    assert time.monotonic() - started < 2.0
    assert raised.value.code == "DeadlineExceeded"
    assert silent.connections == 1


def test_a_batch_against_a_dripping_upstream_ends_by_the_deadline(function_env, peer):
    upstream = peer(drip(0.3, 100))
    with environment({"ALIBABA_CLOUD_ENDPOINT": upstream.url}):
        maintain = load_function(MAINTAIN)
    window = {k: v for k, v in GOOD.items() if k != "InstanceId"}
    ids = [f"r-bp1drip{n:010d}" for n in range(64)]
    started = time.monotonic()
    with pytest.raises(AlibabaCloudError) as raised:  # the instances are read first: nothing is written blind
        maintain.lambda_handler(
            {**window, "InstanceIds": ids, "RateControl": {"Concurrency": 64}}, LambdaContext(remaining_ms=3000)
        )
    assert time.monotonic() - started < 3.0  # within the invocation
    assert raised.value.code in ("DeadlineExceeded", "NetworkError.ReadTimeout")
    assert upstream.connections == 1  # the first DescribeInstances read (30 IDs a call) holds to the deadline: no write


@pytest.mark.parametrize("status", [b"307 Temporary Redirect", b"302 Found", b"301 Moved Permanently"])
def test_a_redirect_is_never_followed_with_a_signed_request(function_env, peer, status):
    elsewhere = peer([b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"])
    redirecting = peer(
        [b"HTTP/1.1 " + status + b"\r\nLocation: " + elsewhere.url.encode() + b"/\r\nContent-Length: 0\r\n\r\n"]
    )
    with environment({"ALIBABA_CLOUD_ENDPOINT": redirecting.url, "ALIBABA_CLOUD_MAX_ATTEMPTS": "1"}):
        maintain = load_function(MAINTAIN)
    with pytest.raises(AlibabaCloudError) as raised:
        maintain.lambda_handler(GOOD, LambdaContext(remaining_ms=5000))
    assert raised.value.code == "InvalidResponse"
    assert f"HTTP {int(status[:3])}" in raised.value.message
    assert elsewhere.connections == 0
    assert redirecting.connections == 1


def test_a_dripping_notify_receiver_cannot_hold_the_function(emulator, function_env, peer):
    status_line = b"HTTP/1.1 200 OK\r\nX-Pad: " + b"x" * 100
    receiver = peer(
        [x for byte in status_line for x in (0.3, bytes([byte]))]
    )  # the answer's first line, a byte at a time
    with environment({"NOTIFY_ALLOW_HTTP": "true"}):
        release = load_function(RELEASE)
    started = time.monotonic()
    result = release.lambda_handler(
        {"InstanceId": ECS_ID, "AutoReleaseTime": in_future(hours=3), "NotifyUrls": [receiver.url]},
        LambdaContext(remaining_ms=2500),
    )
    assert time.monotonic() - started < 2.5  # within the invocation
    assert result["Outcome"] == "Succeeded"  # the change is reported as made; only its delivery failed
    (delivery,) = result["Deliveries"]
    assert delivery["Delivered"] is False
    assert "deadline" in delivery["Error"]


# 3. Memory is bounded


def test_a_huge_answer_from_upstream_is_not_read(function_env, peer):
    chunk = b"x" * 65536
    upstream = peer(
        [b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"]
        + [b"10000\r\n" + chunk + b"\r\n"] * 400
    )  # 25 MiB, no length announced
    with environment({"ALIBABA_CLOUD_ENDPOINT": upstream.url, "ALIBABA_CLOUD_MAX_ATTEMPTS": "1"}):
        maintain = load_function(MAINTAIN)
    tracemalloc.start()
    try:
        with pytest.raises(AlibabaCloudError) as raised:
            maintain.lambda_handler(GOOD, LambdaContext(remaining_ms=10000))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert raised.value.code == "InvalidResponse"
    assert "larger than" in raised.value.message
    assert peak < 24 * 1024 * 1024  # the 8 MiB limit, and the copies reading it takes; never the 25 MiB


def test_a_huge_answer_from_a_notify_receiver_is_not_read(emulator, function_env, peer):
    receiver = peer([b"HTTP/1.1 200 OK\r\nContent-Length: 400000000\r\n\r\n"] + [b"x" * 65536] * 50)
    with environment({"NOTIFY_ALLOW_HTTP": "true"}):
        release = load_function(RELEASE)
    tracemalloc.start()
    try:
        result = release.lambda_handler(
            {"InstanceId": ECS_ID, "AutoReleaseTime": in_future(hours=3), "NotifyUrls": [receiver.url]},
            LambdaContext(remaining_ms=5000),
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result["Deliveries"][0]["Delivered"] is True
    assert peak < 8 * 1024 * 1024


# 1. No server-side request forgery


@pytest.mark.parametrize(
    "host",
    [
        "127.1",
        "0x7f.0.0.1",
        "2130706433",
        "0177.0.0.1",
        "localhost",
        "localhost.",
        "[::ffff:127.0.0.1]",
        "[::1]",
        "10.0.0.8",
        "172.16.5.4",
        "192.168.0.1",
        "169.254.169.254",
        "100.100.100.200",
        "[fd00::1]",
        "[fe80::1]",
        "224.0.0.1",
        "0.0.0.0",
        "240.0.0.1",
        "[::]",
        "[64:ff9b::a00:1]",
        "[2002:a00:1::]",
    ],
)
def test_event_urls_to_non_public_addresses_are_refused_and_reported(emulator, function_env, peer, host):
    receiver = peer([b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"])
    port = receiver.port
    with environment({"NOTIFY_ALLOWED_NETWORKS": None, "NOTIFY_ALLOWED_HOSTS": None, "NOTIFY_ALLOW_HTTP": "true"}):
        release = load_function(RELEASE)
    result = release.lambda_handler(
        {"InstanceId": ECS_ID, "AutoReleaseTime": in_future(hours=3), "NotifyUrls": [f"http://{host}:{port}/hook"]},
        LambdaContext(),
    )
    (delivery,) = result["Deliveries"]
    assert delivery["Delivered"] is False, delivery
    assert delivery["Error"].startswith("refused:"), delivery
    assert receiver.connections == 0


def test_configured_urls_stay_trusted(emulator, function_env, peer):
    receiver = peer([b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"])
    with environment(
        {"NOTIFY_ALLOWED_NETWORKS": None, "NOTIFY_ALLOW_HTTP": "true", "NOTIFY_URLS": receiver.url + "/hook"}
    ):
        release = load_function(RELEASE)
    result = release.lambda_handler({"InstanceId": ECS_ID, "AutoReleaseTime": in_future(hours=3)}, LambdaContext())
    assert result["Deliveries"][0]["Delivered"] is True
    assert receiver.connections == 1


@pytest.fixture
def public_dns(monkeypatch):
    """A resolver and a network in which ``PUBLIC`` is a receiver on 127.0.0.1; every lookup is counted."""
    answers: dict[str, list[list[str]]] = {}
    lookups: list[str] = []
    routes: dict[str, int] = {}
    real_getaddrinfo, real_connect = socket.getaddrinfo, fetch.create_connection

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            lookups.append(host)
            addresses = answers[host].pop(0) if len(answers[host]) > 1 else answers[host][0]
            return [
                (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
                for a in addresses
            ]
        return real_getaddrinfo(host, port, *args, **kwargs)

    def create_connection(address, *args, **kwargs):
        host, port = address
        if host in routes:
            return real_connect(("127.0.0.1", routes[host]), *args, **kwargs)
        return real_connect(address, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(fetch, "create_connection", create_connection)
    return answers, lookups, routes


def test_a_public_host_is_delivered_to_at_the_address_that_was_checked(emulator, function_env, peer, public_dns):
    answers, lookups, routes = public_dns
    receiver = peer([b"HTTP/1.1 204 No Content\r\n\r\n"])
    routes[PUBLIC] = receiver.port
    # DNS rebinding: the first answer is public, any later one would be loopback
    answers["hooks.example.com"] = [[PUBLIC], ["127.0.0.1"]]
    with environment({"NOTIFY_ALLOWED_NETWORKS": None, "NOTIFY_ALLOWED_HOSTS": None, "NOTIFY_ALLOW_HTTP": "true"}):
        release = load_function(RELEASE)
    result = release.lambda_handler(
        {
            "InstanceId": ECS_ID,
            "AutoReleaseTime": in_future(hours=3),
            "NotifyUrls": ["http://hooks.example.com/alibaba"],
        },
        LambdaContext(),
    )
    assert result["Deliveries"][0]["Delivered"] is True
    assert receiver.connections == 1
    assert lookups == ["hooks.example.com"]  # resolved once; the connection went to what was checked
    assert b"Host: hooks.example.com" in receiver.requests[0]


def test_a_host_resolving_to_a_public_and_a_private_address_is_refused(
    emulator, function_env, peer, public_dns, caplog
):
    answers, _, routes = public_dns
    receiver = peer([b"HTTP/1.1 204 No Content\r\n\r\n"])
    routes[PUBLIC] = receiver.port
    answers["mixed.example.com"] = [[PUBLIC, "10.1.2.3"]]
    with environment({"NOTIFY_ALLOWED_NETWORKS": None, "NOTIFY_ALLOWED_HOSTS": None, "NOTIFY_ALLOW_HTTP": "true"}):
        release = load_function(RELEASE)
    result = release.lambda_handler(
        {
            "InstanceId": ECS_ID,
            "AutoReleaseTime": in_future(hours=3),
            "NotifyUrls": ["http://mixed.example.com/alibaba"],
        },
        LambdaContext(),
    )
    # the caller is told no more than that, so it cannot map the private DNS; the operator's log says more
    assert result["Deliveries"][0]["Error"] == "refused: mixed.example.com does not resolve to a public address"
    assert "10.1.2.3" not in json.dumps(result)
    logged = json.dumps([getattr(r, "deliveries", None) for r in caplog.records], default=str)
    assert "10.1.2.3" in logged
    assert receiver.connections == 0


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1:{port}\\@allowed.test/x",
        "https://allowed.test\\@127.0.0.1:{port}/x",
        "https://user@allowed.test/x",
        "https://allowed.test:pw@127.0.0.1:{port}/x",
        "https://allowed.test /x",
        "https://allowed.test\t/x",
        "https://allowed.tést/x",
    ],
)
def test_urls_parsers_could_read_differently_are_refused(emulator, function_env, peer, url):
    receiver = peer([b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"])
    with environment({"NOTIFY_ALLOWED_HOSTS": "allowed.test", "NOTIFY_ALLOW_HTTP": "true"}):
        release = load_function(RELEASE)
    result = release.lambda_handler(
        {"InstanceId": ECS_ID, "AutoReleaseTime": in_future(hours=3), "NotifyUrls": [url.format(port=receiver.port)]},
        LambdaContext(),
    )
    (delivery,) = result["Deliveries"]
    assert delivery["Delivered"] is False
    assert delivery["Attempts"] == 0
    assert receiver.connections == 0
    assert delivery["Error"].startswith("the URL ")  # refused for its shape, before any host check could be fooled


def test_the_url_check_reads_urls_as_the_fetcher_does():
    assert checked_url("https://Hooks.Example.com:8443/a?b=c") == "https://hooks.example.com:8443/a?b=c"
    with pytest.raises(UrlRefused):
        checked_url("ftp://hooks.example.com/")
    assert address_refusal("100.64.0.1").startswith("shared")
    assert address_refusal("8.8.8.8") is None
    assert address_refusal("::ffff:10.0.0.1")
    assert address_refusal("2606:4700:4700::1111") is None


def test_a_notify_host_that_does_not_resolve_is_named_and_not_retried(emulator, function_env, monkeypatch):
    unresolvable(monkeypatch, "hooks.nonexistent.invalid")
    with environment({"NOTIFY_URLS": "https://hooks.nonexistent.invalid/x"}):
        release = load_function(RELEASE)
    result = release.lambda_handler({"InstanceId": ECS_ID, "AutoReleaseTime": in_future(hours=3)}, LambdaContext())
    (delivery,) = result["Deliveries"]
    assert delivery["Error"] == "hooks.nonexistent.invalid does not resolve"
    assert delivery["Attempts"] == 1


def test_a_refused_connection_is_named_with_its_host(emulator, function_env):
    port = closed_port()
    with environment({"NOTIFY_URLS": f"http://127.0.0.1:{port}/x", "NOTIFY_ALLOW_HTTP": "true"}):
        release = load_function(RELEASE)
    result = release.lambda_handler({"InstanceId": ECS_ID, "AutoReleaseTime": in_future(hours=3)}, LambdaContext())
    (delivery,) = result["Deliveries"]
    assert delivery["Error"].startswith(f"127.0.0.1:{port}: no connection (")
    assert "Connection refused" in delivery["Error"]


def test_the_metadata_address_is_named_link_local():
    assert address_refusal("169.254.169.254") == "link-local"


def test_the_tls_context_trusts_requests_ca_bundle():
    import certifi

    from alibaba_cloud.http.fetch import ca_bundle

    assert ca_bundle() == certifi.where()


def test_a_configured_url_is_shown_without_the_secret_in_its_path(emulator, function_env, peer, capsys):
    receiver = peer([b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"])
    secret_path = "/services/T000/B000/XXXXsecretXXXXtoken"
    with environment({"NOTIFY_ALLOW_HTTP": "true", "NOTIFY_URLS": receiver.url + secret_path}):
        release = load_function(RELEASE)
    result = release.lambda_handler(
        {"InstanceId": ECS_ID, "AutoReleaseTime": in_future(hours=3), "NotifyUrls": [receiver.url + "/event/path"]},
        LambdaContext(),
    )
    configured, from_event = result["Deliveries"]
    assert configured["Url"] == receiver.url  # scheme, host and port only
    assert from_event["Url"] == receiver.url + "/event/path"  # the caller's own URL, as today
    assert receiver.requests[0].startswith(f"POST {secret_path} ".encode())  # posted where configured
    assert "XXXXsecretXXXXtoken" not in json.dumps(result)
    assert "XXXXsecretXXXXtoken" not in capsys.readouterr().out  # nor in the log lines


def test_a_name_that_does_not_exist_is_told_as_one_that_is_private(emulator, function_env, public_dns, monkeypatch):
    """No difference a signed caller could map the private DNS with."""
    answers, _, _ = public_dns
    answers["private.example.com"] = [["10.20.30.40"]]
    unresolvable(monkeypatch, "missing.example.com")
    with environment({"NOTIFY_ALLOWED_NETWORKS": None, "NOTIFY_ALLOWED_HOSTS": None}):
        release = load_function(RELEASE)
    urls = ["https://private.example.com/x", "https://missing.example.com/x"]
    result = release.lambda_handler(
        {"InstanceId": ECS_ID, "AutoReleaseTime": in_future(hours=3), "NotifyUrls": urls}, LambdaContext()
    )
    errors = [d["Error"].replace("private", "HOST").replace("missing", "HOST") for d in result["Deliveries"]]
    assert errors == ["refused: HOST.example.com does not resolve to a public address"] * 2


@pytest.mark.parametrize(("address", "why"), [("64:ff9b::808:808", None), ("64:ff9b::a00:1", "NAT64 of a private")])
def test_nat64_addresses_are_judged_by_the_ipv4_address_they_embed(address, why):
    assert address_refusal(address) == why


@pytest.mark.parametrize(
    ("entries", "url", "allowed"),
    [
        ("hooks.example.com", "https://hooks.example.com/x", True),
        ("hooks.example.com", "https://hooks.example.com:22/x", False),  # a host alone allows 443
        ("hooks.example.com", "https://hooks.example.com:0/x", False),
        ("hooks.example.com:8443", "https://hooks.example.com:8443/x", True),
        ("hooks.example.com:8443", "https://hooks.example.com/x", False),
        ("hooks.example.com:*", "https://hooks.example.com:9000/x", True),
    ],
)
def test_allowed_hosts_allow_443_unless_a_port_is_named(entries, url, allowed):
    from alibaba_cloud.delivery.notify import Notifier, NotifyPolicy

    notifier = Notifier(NotifyPolicy(allowed_hosts=frozenset(entries.split())))
    if allowed:
        assert notifier.target(url, from_event=True) == url
    else:
        with pytest.raises(UrlRefused, match="not in NOTIFY_ALLOWED_HOSTS"):
            notifier.target(url, from_event=True)


@pytest.fixture
def slow_dns(monkeypatch):
    """A resolver that takes 6 s for names under slow.example (in its own thread: nothing waits for it)."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def resolver(host, *args, **kwargs):
        if host.endswith(".slow.example"):
            asked.append(host)
            time.sleep(6)
            return real("127.0.0.1", *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    return asked


def test_a_slow_lookup_of_the_alibaba_host_ends_by_the_deadline_and_says_nothing_was_sent(function_env, slow_dns):
    with environment({"ALIBABA_CLOUD_ENDPOINT": "http://ecs.slow.example:8080", "ALIBABA_CLOUD_CONNECT_TIMEOUT": "30"}):
        maintain = load_function(MAINTAIN)
    started = time.monotonic()
    with pytest.raises(AlibabaCloudError, match="^DeadlineExceeded: .*nothing was sent") as raised:
        maintain.lambda_handler(GOOD, LambdaContext(remaining_ms=2500))
    assert time.monotonic() - started < 2.5  # within the invocation: the lookup was not waited for
    assert "may have been applied" not in raised.value.message
    assert slow_dns == ["ecs.slow.example"]


def test_a_slow_lookup_of_a_notify_host_ends_by_the_deadline(emulator, function_env, slow_dns):
    with environment({"NOTIFY_URLS": "https://hooks.slow.example/x"}):
        release = load_function(RELEASE)
    started = time.monotonic()
    result = release.lambda_handler(
        {"InstanceId": ECS_ID, "AutoReleaseTime": in_future(hours=3)}, LambdaContext(remaining_ms=2500)
    )
    assert time.monotonic() - started < 2.5
    assert result["Outcome"] == "Succeeded"  # the change is made; only its delivery did not happen
    (delivery,) = result["Deliveries"]
    assert delivery["Delivered"] is False


# 4. Answers that explode when parsed

EXPLOSIVE = {
    "many lists": b'{"Instances": [' + b"[]," * 1_000_000 + b"[]]}",  # 3 MB, under the read limit
    "many objects": b'{"Instances": [' + b"{}," * 1_000_000 + b"{}]}",
    "deep JSON": b'{"a": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    "deep XML": b"<Error>" + b"<a>" * 1000 + b"x" + b"</a>" * 1000 + b"</Error>",
    "many XML elements": b"<Error>" + b"<a/>" * 200_000 + b"</Error>",
}


@pytest.mark.parametrize("name", EXPLOSIVE)
@pytest.mark.parametrize("status", [200, 500])
def test_an_answer_that_explodes_when_parsed_is_an_invalid_response(name, status):
    from alibaba_cloud.http.fetch import Answer
    from alibaba_cloud.rpc.transport import parse_answer

    content_type = "text/xml" if "XML" in name else "application/json"
    tracemalloc.start()
    try:
        with pytest.raises(AlibabaCloudError, match=r"^InvalidResponse: The endpoint ecs\.example answered") as raised:
            parse_answer(Answer(status, {"Content-Type": content_type}, EXPLOSIVE[name]), host="ecs.example")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 40 * 2**20, peak  # nothing parsed into hundreds of megabytes
    assert raised.value.http_status >= 400


def test_an_aws_answer_nested_too_deep_is_an_invalid_response(peer):
    from alibaba_cloud.aws.client import AwsError, AwsJsonClient
    from alibaba_cloud.http.fetch import Fetcher

    body = b'{"a": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    upstream = peer([b"HTTP/1.1 200 OK\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body])
    env = {
        "AWS_ACCESS_KEY_ID": "AKIDTEST",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_ENDPOINT_URL_DYNAMODB": upstream.url,
    }
    client = AwsJsonClient.from_env("dynamodb", "DynamoDB_20120810", Fetcher(2, 3, max_bytes=2**20), env=env)
    with pytest.raises(AwsError, match="^InvalidResponse: dynamodb .* answered HTTP 200"):
        client.call("GetItem", {"TableName": "t", "Key": {}}, None)


# 1. Receivers' cookies


def test_receivers_cookies_are_neither_kept_nor_sent_on(emulator, function_env, peer):
    """A receiver answering 98 cookies of 60 KB each (headers as large as the standard library reads:
    100 of at most 64 KiB) four times over: a warm container keeps none of it, and a later delivery to
    a sibling host carries no cookie."""
    cookie = b"Set-Cookie: c%d=" + b"x" * 60_000 + b"; Path=/\r\n"
    answer = b"HTTP/1.1 200 OK\r\n" + b"".join(cookie % n for n in range(98)) + b"Content-Length: 0\r\n\r\n"
    greedy = peer([answer])
    sibling = peer([b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"])
    with environment({"NOTIFY_ALLOW_HTTP": "true"}):
        release = load_function(RELEASE)
    event = {"InstanceId": ECS_ID, "AutoReleaseTime": in_future(hours=3), "NotifyUrls": [greedy.url + "/a"]}
    release.lambda_handler(event, LambdaContext())  # the first: pools and imports warm up
    tracemalloc.start()
    try:
        for _ in range(4):
            assert release.lambda_handler(event, LambdaContext())["Deliveries"][0]["Delivered"] is True
        kept, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert kept < 8 * 2**20, kept  # not the 23 MB four answers' cookies would be
    release.lambda_handler({**event, "NotifyUrls": [sibling.url + "/b"]}, LambdaContext())
    assert b"cookie:" not in sibling.requests[-1].lower()
