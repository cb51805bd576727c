"""Every key an event may carry beside an action's own parameters, and every limit on events and results.

Defined once, at the bottom of the layer, so actions (to word ``UnsupportedParameter``), the event
reader, the run paths and the triggers all read the same names from below. Imports nothing.
"""

# A chain's fields: who a run belongs to, how deep and how wide its chain may still go, where it reports.
CHAIN_KEYS = ("CorrelationId", "Hop", "Budget", "Next", "NotifyUrls", "ScheduledTime")
HOP_KEYS = frozenset(("Action", "Parameters", *CHAIN_KEYS))
# A fleet's fields: which targets, how fast, whether to write, what counts as the start, how much to answer.
TARGET_KEYS = ("Targets", "InstanceIds", "Select")
BATCH_KEYS = (*TARGET_KEYS, "RateControl", "DryRun", "Since", "Detail")
RATE_CONTROL_KEYS = ("Concurrency", "MaxErrors", "MaxRequestsPerSecond", "MaxChanges")
# What an event may ask of the runs store instead of a run of its own: apply a plan, undo a run, an
# instance's history, a run's status. Each stands alone (with the chain's keys; Undo with DryRun, RateControl).
ASK_KEYS = ("Apply", "Undo", "History", "Run")
INSTANCE_ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9*._-]{0,63}"  # what either product's instance IDs look like
# A single call's: lift release protection for the one instance it names (never the protection tag).
OVERRIDE_PROTECTION = "OverrideProtection"
# Which configured Alibaba account an event acts in (ALIBABA_CLOUD_ROLES): a name, never a role ARN.
ACCOUNT = "Account"
SELECT_KEYS = ("RegionId", "Tags")
DETAIL = ("Summary", "Full")
SINCE = ("ScheduledTime", "CreationTime")
# An inventory's resume point inside a page (from a ``Resume``).
SKIP_ON_PAGE = "SkipOnPage"

MAX_NOTIFY_URLS = 10  # an event's own, and as many configured
MAX_URL_LENGTH = 2048
MAX_SELECT_TAGS = 20  # a Select's tags: the most either product's read filters on (ECS); the rest are matched here
MAX_TAG_TEXT = 128  # a tag key (1 to 128 characters) or value (up to 128), both products
MAX_TARGETS = 5000  # listed or selected targets that one invocation writes
MAX_CONCURRENCY = 64
MAX_REQUESTS_PER_SECOND = 1000
MAX_SKIP_ON_PAGE = 1000
MAX_DEPTH = 32  # JSON nesting of any event
MAX_CORRELATION_ID = 128

# Sizes: what an event may weigh, and what a result may, where it goes.
MAX_BODY_BYTES = 64 * 1024  # a webhook body; a direct event is held to it too, its result must fit beside it
ASYNC_LIMIT = 256 * 1024  # async invocations, destinations, EventBridge, SQS
SYNC_LIMIT = 6 * 1024 * 1024  # a synchronous (webhook) answer
ENVELOPE = 4096  # a destination record's and an EventBridge event's own fields
DELIVERIES_ROOM = 16 * 1024  # each delivery's outcome, added once the result is delivered (20 URLs at most)
