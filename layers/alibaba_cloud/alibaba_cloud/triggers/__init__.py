"""Trigger adapters: an API Gateway webhook, an SQS fan-out message, each turned into one run and back."""
