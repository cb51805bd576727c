"""Plans a person approves, the changes every run made, and run statuses: kept in RUNS_TABLE."""
