"""Our SDK for Alibaba Cloud RPC actions, packaged as one Lambda layer.

Its wings, each importing only the ones below it:

* ``handler`` (the composition root) and ``triggers/`` (direct, webhook, queue): Lambda events in, answers out;
* ``runner``: reads the event, picks a run path, observes, delivers the result (``delivery/``);
* ``paths/``: one call, an inventory read, a fleet;
* ``actions/``: each action as a declaration (product, version, parameters, rules);
* ``events/``: every key and limit an event may carry, the event reader, the result shape;
* ``rpc/`` (Alibaba signing, endpoints, credentials, transport) and ``aws/`` (SigV4, DynamoDB, SQS, Secrets);
* ``http/``: the public-address policy and the fetcher every request goes through;
* ``config``, ``errors``, ``observe``: the ground floor.

Nothing is imported here so that a function pays only for the modules its path needs.
"""

__version__ = "0.1.0"  # pyproject.toml's; sent in every request's User-Agent
