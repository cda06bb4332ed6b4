"""SQS -> DynamoDB webhook processor (see docs/message-contract.md).

Lambda handler: ``webhook_processor.handler.lambda_handler``. Stdlib and boto3 only.
"""
