"""Where results go besides their caller: signed Standard Webhooks (:mod:`.standard_webhooks`, also the
webhook trigger's check) posted to the configured and the event's notify URLs (:mod:`.notify`)."""

OPERATOR_DETAIL = "OperatorDetail"  # in a delivery outcome, what only the operator's log says; never in a result
