"""Run the extension's tests with unittest inside the bpy environment: `python run.py [MODULE ...]`."""

from __future__ import annotations

import sys
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent

if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    names = sys.argv[1:] or [path.stem for path in sorted(HERE.glob("test_*.py"))]
    suite = unittest.defaultTestLoader.loadTestsFromNames(names)
    outcome = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    sys.exit(0 if outcome.wasSuccessful() else 1)
