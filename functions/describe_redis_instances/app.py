"""Read the ApsaraDB for Redis inventory of a region, every page, projected (R-kvstore DescribeInstances).

Event: ``{"RegionId": "cn-hangzhou", "Tags": {"env": "dev"}}``; the answer lists each instance's
ID, region, status, charge type, creation time and tags, within the size limits of where it goes.
"""

from aws_lambda_powertools import Logger, Metrics

from alibaba_cloud.actions.r_kvstore import DESCRIBE_INSTANCES
from alibaba_cloud.handler import ActionHandler

logger = Logger(service="describe-redis-instances")
metrics = Metrics(namespace="AlibabaCloudLifecycle", service="describe-redis-instances")
handler = ActionHandler(DESCRIBE_INSTANCES, logger=logger, metrics=metrics)


@logger.inject_lambda_context(clear_state=True)  # log_event: POWERTOOLS_LOGGER_LOG_EVENT (false)
@metrics.log_metrics
def lambda_handler(event, context):
    return handler(event, context)
