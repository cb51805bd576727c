"""The AWS APIs the functions call themselves (DynamoDB, SQS, the Secrets extension), signed in the layer: no boto3 to import."""
