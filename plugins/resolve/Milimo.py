"""Milimo for DaVinci Resolve: generate the shots marked on a timeline and place them (docs/resolve.md).

Resolve lists this file as Workspace > Scripts > Utility > Milimo and runs it with `resolve`, `fusion` and
`bmd` already defined. `milimo resolve install` copies it there and writes SUPPORT_DIR below: the folder that
holds the `milimo_resolve` package and the downloaded results. Everything else lives in that package; this
file only finds it and says plainly what to do when it, or the client library, cannot be imported.
"""

import sys
from typing import Any

SUPPORT_DIR = ""  # written by `milimo resolve install`


def main(resolve: Any, fusion: Any, bmd: Any) -> None:
    """Open Milimo's window, or say why it cannot open (in syntax any Python 3 that Resolve runs reads)."""
    if resolve is None or fusion is None or bmd is None:
        print("Milimo: run this from DaVinci Resolve's Workspace > Scripts > Utility menu.")
        return
    ui = fusion.UIManager
    dispatcher = bmd.UIDispatcher(ui)
    if not SUPPORT_DIR:
        print("Milimo: this copy of Milimo.py was not installed by `milimo resolve install`; run that command.")
        return
    if SUPPORT_DIR not in sys.path:
        sys.path.insert(0, SUPPORT_DIR)
    try:
        from milimo_resolve import message
    except ImportError as error:
        print(f"Milimo: its files are missing from {SUPPORT_DIR} ({error}); run `milimo resolve install`.")
        return
    problem = message.python_problem()
    if problem is not None:
        message.show(ui, dispatcher, "Milimo cannot start", problem)
        return
    try:
        from milimo_resolve import window
    except ImportError as error:
        message.show(ui, dispatcher, "Milimo cannot start", message.missing_client(error))
        return
    window.run(resolve, ui, dispatcher, SUPPORT_DIR)


main(globals().get("resolve"), globals().get("fusion"), globals().get("bmd"))
