"""Enabling and disabling the extension leaves nothing behind, twice over."""

from __future__ import annotations

import unittest

import bpy
import harness

harness.install()


class RegisterTests(unittest.TestCase):
    def tearDown(self) -> None:
        if harness.PACKAGE not in bpy.context.preferences.addons:
            bpy.ops.preferences.addon_enable(module=harness.PACKAGE)

    def test_disable_and_enable_twice(self) -> None:
        drain = harness.module("mainthread").drain
        for _ in range(2):
            bpy.ops.preferences.addon_disable(module=harness.PACKAGE)
            self.assertFalse(hasattr(bpy.types.Scene, "milimo"))
            self.assertFalse(hasattr(bpy.types, "MILIMO_OT_generate_shot"))
            self.assertFalse(hasattr(bpy.types, "MILIMO_PT_main"))
            self.assertFalse(bpy.app.timers.is_registered(drain))
            self.assertFalse([h for h in bpy.app.handlers.load_post if h.__module__.startswith(harness.PACKAGE)])
            bpy.ops.preferences.addon_enable(module=harness.PACKAGE)
            self.assertTrue(hasattr(bpy.types.Scene, "milimo"))
            self.assertTrue(hasattr(bpy.types, "MILIMO_OT_generate_shot"))
            drain = harness.module("mainthread").drain
            self.assertTrue(bpy.app.timers.is_registered(drain))
        # Disabling forgets the preferences (Blender keeps them only in saved user preferences).
        harness.point_at(harness.os.environ["MILIMO_DAEMON"])
        harness.pump(harness.online, what="the daemon connection after enabling again")
