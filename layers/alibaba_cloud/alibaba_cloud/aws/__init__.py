"""The AWS APIs the functions call themselves (DynamoDB, SQS), signed in the layer: no boto3 to import."""
