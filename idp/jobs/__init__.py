"""One framework for background jobs (AWX's unified jobs, NetBox's job rows, trimmed).

- `models.JobRow`: the abstract row every job kind's model takes (status in named groups,
  heartbeat, attempts, the request that came while it ran, its temporary folder, error).
- `registry.JobKind` / `register`: what a kind is (model, task, retry policy, hooks); each
  app registers its kinds when Django starts.
- `dispatch`: request (nudge on commit), claim, run (heartbeat, folder), finish.
- `sweep`: the reaper, the sweeper and `housekeeping`, the one periodic task for all kinds.
- `retry.RetryPolicy`: the one retry policy (named transient exceptions, backoff).
"""
