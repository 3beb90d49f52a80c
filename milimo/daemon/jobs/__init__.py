"""Jobs: the persistent queue, its events, and the lanes whose worker processes run tasks."""
