"""Sign a webhook body the way Standard Webhooks callers do, for curl and other clients.

    python -m local.sign --secret whsec_... --body '{"InstanceId": "r-..."}'            # the three headers
    python -m local.sign --secret whsec_... --body @event.json --curl https://.../path  # a curl command

The secret may also come from the WEBHOOK_SECRET environment variable, so it stays out of the
shell history. Any Standard Webhooks library produces the same headers.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "layers" / "alibaba_cloud"))

from alibaba_cloud.config import ConfigurationError  # noqa: E402
from alibaba_cloud.delivery.standard_webhooks import decode_secret, parse_secrets, sign_headers  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Print Standard Webhooks headers (or a curl command) for a body.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--secret", default=os.environ.get("WEBHOOK_SECRET"), help="whsec_... (default: $WEBHOOK_SECRET)"
    )
    parser.add_argument("--body", required=True, help="the JSON body, or @file")
    parser.add_argument("--id", default=None, help="webhook-id (default: a new msg_ id)")
    parser.add_argument("--curl", metavar="URL", help="print a complete curl command for this URL")
    args = parser.parse_args(argv)
    if not args.secret:
        parser.error("give --secret or set WEBHOOK_SECRET")
    try:
        body = Path(args.body[1:]).read_bytes() if args.body.startswith("@") else args.body.encode()
        key = parse_secrets(args.secret)[0] if " " in args.secret.strip() else decode_secret(args.secret)
    except (OSError, ConfigurationError) as error:  # one line, not a traceback
        print(f"local.sign: {error}", file=sys.stderr)
        return 2
    headers = sign_headers(key, args.id or f"msg_{uuid.uuid4().hex}", body)
    if args.curl:
        parts = ["curl", "-sS", "-X", "POST", args.curl, "-H", "content-type: application/json"]
        for name, value in headers.items():
            parts += ["-H", f"{name}: {value}"]
        parts += ["--data-binary", body.decode()]
        print(" ".join(shlex.quote(p) for p in parts))
    else:
        for name, value in headers.items():
            print(f"{name}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
