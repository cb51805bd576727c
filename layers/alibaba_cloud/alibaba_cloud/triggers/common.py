"""What every trigger checks before it hands an event to the runner: strict JSON and the size limit."""

from __future__ import annotations

import json
from typing import Any

from ..errors import bad_request, invalid
from ..events.keys import MAX_BODY_BYTES, MAX_DEPTH


def refuse_constant(name: str) -> None:
    """``NaN``, ``Infinity``: Python's json reads them, JSON does not, and a result echoing them would not be JSON."""
    raise ValueError(f"{name} is not JSON")


def strict_loads(text: str | bytes, what: str) -> Any:
    """``text`` as strict JSON: no NaN or Infinity, no depth that exhausts the parser.

    ``what`` names the text in the refusal.
    """
    try:
        return json.loads(text, parse_constant=refuse_constant)
    except (ValueError, RecursionError):
        raise bad_request(f"{what} must be a strict JSON object (no NaN or Infinity).") from None


def event_size(event: Any) -> int:
    """A direct event's size as JSON, once it is strict JSON within the webhook body's limit."""
    try:
        size = len(json.dumps(event, ensure_ascii=False, allow_nan=False).encode())
    except (ValueError, RecursionError):
        raise bad_request(
            f"The event must be strict JSON (no NaN or Infinity), nested at most {MAX_DEPTH} deep."
        ) from None
    if size > MAX_BODY_BYTES:
        raise invalid(
            "PayloadTooLarge",
            f"The event exceeds {MAX_BODY_BYTES} bytes; fan large fleets out through the targets queue "
            "or name them with Select.",
        )
    return size
