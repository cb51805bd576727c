"""Our SDK for Alibaba Cloud RPC actions, packaged as one Lambda layer.

An action is a declaration (:mod:`alibaba_cloud.actions`); the layer validates its parameters,
signs the request (:mod:`alibaba_cloud.signing`), sends it (:mod:`alibaba_cloud.transport`) and
turns Lambda events into calls and results (:mod:`alibaba_cloud.handler`).

Nothing is imported here so that a function pays only for the modules its path needs.
"""

__version__ = "0.1.0"  # pyproject.toml's; sent in every request's User-Agent
