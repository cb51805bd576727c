"""Trigger adapters: a direct or scheduled invocation, an API Gateway webhook, an SQS fan-out message,
each turned into one run of the :class:`~alibaba_cloud.runner.Runner` and its answer back. Siblings
never import each other: what they share is in :mod:`.common`."""
