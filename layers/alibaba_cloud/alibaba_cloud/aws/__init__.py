"""The AWS APIs the functions call themselves (DynamoDB, SQS, the Secrets extension), signed in the layer.

No boto3 to import: SigV4 and the JSON 1.0 protocol are small.
"""
