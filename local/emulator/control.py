"""The emulator's control API, for tests, the demo and a person with curl:

* ``GET  /_emulator/instances``      every instance and its state
* ``POST /_emulator/instances``      add or replace instances:
  ``[{"InstanceId": ..., "Product": "Ecs"|"R-kvstore", ...}]`` (the fields of :class:`.state.Instance`)
* ``POST /_emulator/faults``         queue faults: ``[{"Kind": "throttle", "Times": 2}, ...]`` (:class:`.state.Fault`)
* ``GET  /_emulator/requests``       what the gateway received, oldest first

Answers are ``(status, JSON-ready payload)``.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from .state import EmulatorState, Fault, Instance

PREFIX = "/_emulator/"


def control(state: EmulatorState, method: str, path: str, body: bytes) -> tuple[int, Any]:
    with state.lock:
        if path == "/_emulator/instances" and method == "GET":
            return 200, {i: asdict(x) for i, x in state.instances.items()}
        if path == "/_emulator/requests" and method == "GET":
            return 200, [asdict(r) for r in state.received]
        try:
            items = json.loads(body or b"[]")
            if path == "/_emulator/instances" and method == "POST":
                for item in items:
                    state.instances[item["InstanceId"]] = Instance(**item)
                return 200, {"Added": len(items)}
            if path == "/_emulator/faults" and method == "POST":
                state.faults.extend(Fault(**item) for item in items)
                return 200, {"Queued": len(items)}
        except (ValueError, TypeError, KeyError) as exc:
            return 400, {"Code": "InvalidParameter", "Message": str(exc)}
    return 404, {"Code": "NotFound", "Message": path}
