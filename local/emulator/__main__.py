"""``python -m local.emulator``: the emulator on a port of 127.0.0.1, seeded for the demo."""

from __future__ import annotations

import argparse

from . import DEMO_ACCESS_KEY_ID, EmulatorServer, seed_demo


def main() -> None:
    parser = argparse.ArgumentParser(
        description="A local Alibaba Cloud RPC gateway for ECS and R-kvstore, on 127.0.0.1, seeded for the demo.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--port", type=int, default=8080, help="the port on 127.0.0.1")
    parser.add_argument(
        "--window-rule",
        choices=("exactly-one-hour", "at-least-one-hour"),
        default="exactly-one-hour",
        help="how long a Redis maintenance window must be",
    )
    args = parser.parse_args()
    server = EmulatorServer(args.port)
    server.state.window_rule = args.window_rule
    seed_demo(server)
    print(f"Alibaba Cloud emulator on {server.url} (key {DEMO_ACCESS_KEY_ID})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
