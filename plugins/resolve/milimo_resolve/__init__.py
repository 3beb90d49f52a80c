"""Milimo for DaVinci Resolve: the window behind Workspace > Scripts > Utility > Milimo (docs/resolve.md).

Modules: placeholders (finding shots), requests (what job a shot becomes), daemon (the background link to the
daemon), placement (results onto the timeline), roundtrip (the whole timeline through `milimo fill`),
controller (the window's state), window (UIManager), message (what the script says when it cannot start).
This file imports nothing, so `message` works in a Python that lacks the client library.
"""
