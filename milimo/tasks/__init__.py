"""Job kinds: what a worker runs for each request in the `oneof` of `JobRequest`."""
