"""What the script says when it cannot start, in a small UIManager window and in Resolve's console.

Standard library only, and syntax any Python 3.6 reads: it must speak in whatever Python Resolve runs, including
one without Milimo's client library or one too old for it.
"""

import os
import sys
from typing import Any

MINIMUM_PYTHON = (3, 11)
INSTALL_HINT = (
    "In a terminal, in your Milimo checkout, run:\n\n"
    "    milimo resolve install --python {python}\n\n"
    "then open Workspace > Scripts > Utility > Milimo again. See docs/resolve.md."
)


def running_python() -> str:
    """The Python Resolve runs scripts with, as the user can find it on disk."""
    version = ".".join(str(part) for part in sys.version_info[:3])
    return f"Python {version} in {sys.prefix}"


def python_executable() -> str:
    """The interpreter's own path: inside Resolve `sys.executable` is Resolve itself, so build it from the prefix."""
    if sys.platform == "win32":
        return os.path.join(sys.prefix, "python.exe")
    return os.path.join(sys.prefix, "bin", f"python{sys.version_info[0]}.{sys.version_info[1]}")


def python_problem() -> "str | None":
    """Why this Python cannot run Milimo, or None when it can."""
    if sys.version_info[:2] >= MINIMUM_PYTHON:
        return None
    wanted = ".".join(str(part) for part in MINIMUM_PYTHON)
    return (
        f"Milimo needs Python {wanted} or later, and Resolve runs {running_python()}. Install a newer Python 3 "
        "(python.org), which Resolve uses when it starts, then install Milimo into it. "
        + INSTALL_HINT.format(python="PATH_OF_THAT_PYTHON")
    )


def missing_client(error: ImportError) -> str:
    """What to do when the client library (or one of its dependencies) does not import."""
    return (
        f"Milimo's client library cannot be imported in the Python Resolve runs ({running_python()}): {error}.\n\n"
        + INSTALL_HINT.format(python=python_executable())
    )


def show(ui: Any, dispatcher: Any, title: str, text: str) -> None:
    """A window with the text and an OK button, until it is closed; the text also goes to Resolve's console."""
    print("Milimo: " + text)
    window = dispatcher.AddWindow(
        {"ID": "MilimoMessage", "WindowTitle": title, "Geometry": [200, 200, 640, 280]},
        ui.VGroup(
            [
                ui.TextEdit({"ID": "Text", "Text": text, "ReadOnly": True}),
                ui.HGroup({"Weight": 0}, [ui.HGap(0, 1), ui.Button({"ID": "OK", "Text": "OK", "Weight": 0})]),
            ]
        ),
    )

    def close(event: Any) -> None:
        dispatcher.ExitLoop()

    window.On.OK.Clicked = close
    window.On.MilimoMessage.Close = close
    window.Show()
    dispatcher.RunLoop()
    window.Hide()
