"""Run a function the way Lambda does, in this process: layer on the path, a fresh module, a context.

Used by ``make demo`` and by the tests, so both exercise the same cold-start path as Lambda:
the function's ``app`` module is imported anew (reading its settings then), and its
``lambda_handler`` is called with a real-shaped event and a context.
"""

from __future__ import annotations

import importlib.util
import json
import os
import uuid
import warnings
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
LAYER = ROOT / "layers" / "alibaba_cloud"
FUNCTIONS = ROOT / "functions"
EVENTS = ROOT / "events"


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that Powertools and the layer read."""

    function_name: str = "local-function"
    memory_limit_in_mb: int = 256
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    remaining_ms: int = 30_000

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def _apply(values: Mapping[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@contextmanager
def environment(values: Mapping[str, str | None]):
    """Set (or, with ``None``, remove) environment variables for the duration of the block."""
    saved = {name: os.environ.get(name) for name in values}
    try:
        _apply(values)
        yield
    finally:
        _apply(saved)


# Powertools keeps one set of metric dimensions per process; where several functions share one (here,
# unlike Lambda) each sets its Action again when it runs, which Powertools warns of.
warnings.filterwarnings("ignore", message="Dimension 'Action' has already been added")


def load_function(name: str) -> ModuleType:
    """A cold start: ``functions/<name>/app.py`` imported as a new module under the current environment."""
    path = FUNCTIONS / name / "app.py"
    spec = importlib.util.spec_from_file_location(f"{name}_app_{uuid.uuid4().hex}", path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sample_event(function: str, name: str) -> dict:
    return json.loads((EVENTS / function / f"{name}.json").read_text())
