"""Set the maintenance window of an ApsaraDB for Redis instance (R-kvstore ModifyInstanceMaintainTime).

Event: ``{"InstanceId": "r-...", "MaintainStartTime": "02:00Z", "MaintainEndTime": "03:00Z"}``,
directly, from a schedule's Input, or as the body of a signed webhook.
"""

from aws_lambda_powertools import Logger, Metrics

from alibaba_cloud.actions.r_kvstore import MODIFY_INSTANCE_MAINTAIN_TIME
from alibaba_cloud.handler import ActionHandler

logger = Logger(service="modify-instance-maintain-time")
metrics = Metrics(namespace="AlibabaCloudLifecycle", service="modify-instance-maintain-time")
handler = ActionHandler(MODIFY_INSTANCE_MAINTAIN_TIME, logger=logger, metrics=metrics)


@logger.inject_lambda_context(clear_state=True)  # log_event: POWERTOOLS_LOGGER_LOG_EVENT (false)
@metrics.log_metrics
def lambda_handler(event, context):
    return handler(event, context)
