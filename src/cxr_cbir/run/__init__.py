"""The run contract and the workflow's plumbing: the config schema check, one run's
output layout, the rule scripts' logging, row shards, and which code each rule runs."""
