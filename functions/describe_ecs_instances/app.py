"""Read the ECS inventory of a region, every page, projected (ECS DescribeInstances).

Event: ``{"RegionId": "cn-hangzhou", "Tags": {"env": "dev", "ttl": null}}`` (null: any value);
the answer lists each instance's ID, region, status, charge type, creation time, tags and
automatic release time, within the size limits of where it goes (``Resume`` reads on).
"""

from aws_lambda_powertools import Logger, Metrics

from alibaba_cloud.actions.ecs import DESCRIBE_INSTANCES
from alibaba_cloud.handler import ActionHandler

logger = Logger(service="describe-ecs-instances")
metrics = Metrics(namespace="AlibabaCloudLifecycle", service="describe-ecs-instances")
handler = ActionHandler(DESCRIBE_INSTANCES, logger=logger, metrics=metrics)


@logger.inject_lambda_context(clear_state=True)  # log_event: POWERTOOLS_LOGGER_LOG_EVENT (false)
@metrics.log_metrics
def lambda_handler(event, context):
    return handler(event, context)
