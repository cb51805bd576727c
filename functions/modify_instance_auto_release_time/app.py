"""Set or cancel the automatic release time of a pay-as-you-go ECS instance (ECS ModifyInstanceAutoReleaseTime).

Event: ``{"InstanceId": "i-...", "AutoReleaseTime": "2026-12-01T02:00:00Z"}``; without
``AutoReleaseTime`` the automatic release is cancelled. ``RegionId`` is optional.
"""

from aws_lambda_powertools import Logger, Metrics

from alibaba_cloud.actions.ecs import MODIFY_INSTANCE_AUTO_RELEASE_TIME
from alibaba_cloud.handler import ActionHandler

logger = Logger(service="modify-instance-auto-release-time")
metrics = Metrics(namespace="AlibabaCloudLifecycle", service="modify-instance-auto-release-time")
handler = ActionHandler(MODIFY_INSTANCE_AUTO_RELEASE_TIME, logger=logger, metrics=metrics)


@logger.inject_lambda_context(clear_state=True)  # log_event: POWERTOOLS_LOGGER_LOG_EVENT (false)
@metrics.log_metrics
def lambda_handler(event, context):
    return handler(event, context)
