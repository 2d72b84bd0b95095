"""Cluster-level control loops, each a client of the API: ``manager.run_controllers`` starts them.

Every controller has the same shape, client-go's: shared informers feed a
work queue of keys; workers sync one key at a time by computing the desired
state with a pure function and making the few API calls that close the gap.
A failed sync is retried with per-key back-off; a loop never crashes.
"""
