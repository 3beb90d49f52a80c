"""Milimo: a local-first AI cinematic studio (render daemon, client library and CLI)."""

__version__ = "0.1.0"
