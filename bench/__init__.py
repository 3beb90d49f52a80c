"""Benchmarks of the daemon against the goals of its performance issue: `python -m bench [NAME ...]`."""
