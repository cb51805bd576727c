"""The three ways a run goes: one call (:mod:`.single`), an inventory read (:mod:`.inventory`) and a
fleet (:mod:`.fleet`). Peers below the runner, each takes a :class:`~.context.RunContext` and
returns a :class:`~.context.Ran`; none observes, delivers or knows its trigger."""
