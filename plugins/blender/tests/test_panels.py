"""Every panel of the extension, and its preferences, drawn in the states a user meets them in: nothing selected, a
generated strip, a placeholder, a movie to track, jobs running and ended, an OTIO import and a screenplay import
under way. bpy-as-a-module has no window, so the layout they draw into is layout_double's, which checks each call
against UILayout's own RNA description (the icons, the properties and the operators named must exist)."""

from __future__ import annotations

import shutil
import tempfile
import unittest
from pathlib import Path

import bpy
import harness
from layout_double import Drawn, RecordingLayout

ext = harness.install()
compat = harness.module("compat")
panels = harness.module("panels")
previews = harness.module("previews")
operators_otio = harness.module("operators_otio")
operators_storyboard = harness.module("operators_storyboard")

MEDIA = Path(tempfile.mkdtemp(prefix="milimo-panels-"))
MOVIE, STILL = MEDIA / "take.mp4", MEDIA / "preview.png"
harness.make_movie(MOVIE, 12)
harness.make_still(STILL)


def tearDownModule() -> None:
    shutil.rmtree(MEDIA, ignore_errors=True)


def registered_panels() -> list[type]:
    """The extension's sidebar panels, as registered with Blender now."""
    found, bases = [], [panels.SequencerPanel]
    while bases:
        for cls in bases.pop().__subclasses__():
            bases.append(cls)
            if getattr(bpy.types, cls.__name__, None) is cls:
                found.append(cls)
    return found


def draw(panel: type) -> RecordingLayout:
    layout = RecordingLayout()
    panel.draw(Drawn(layout), bpy.context)
    return layout


class PanelTests(unittest.TestCase):
    def setUp(self) -> None:
        harness.pump(harness.online, what="the daemon connection")
        self.scene = harness.fresh_scene()
        self.strips = compat.top_strips(self.scene)

    def select(self, strip: bpy.types.Strip) -> None:
        strip.select = True
        self.scene.sequence_editor.active_strip = strip

    def test_every_panel_and_the_preferences_draw_with_nothing_selected(self) -> None:
        found = {cls.__name__ for cls in registered_panels()}
        self.assertEqual(
            found,
            {
                "MILIMO_PT_main",
                "MILIMO_PT_generate",
                "MILIMO_PT_placeholders",
                "MILIMO_PT_jobs",
                "MILIMO_PT_segment",
                "MILIMO_PT_otio",
                "MILIMO_PT_storyboard",
            },
        )
        for panel in registered_panels():
            with self.subTest(panel.__name__):
                self.assertTrue(draw(panel).calls)
        main = draw(panels.MILIMO_PT_main)
        status = harness.module("session").connection().status
        self.assertEqual(main.find("label", text=status.message)[0].arguments["icon"], "CHECKMARK")
        self.assertEqual(len(draw(panels.MILIMO_PT_generate).find("operator", operator="milimo.regenerate")), 0)
        self.assertIn("Select a movie strip", draw(bpy.types.MILIMO_PT_segment).texts())

        preferences = bpy.context.preferences.addons[harness.PACKAGE].preferences
        layout = RecordingLayout()
        type(preferences).draw(Drawn(layout, preferences), bpy.context)
        drawn = [call.arguments["property"] for call in layout.find("prop")]
        self.assertEqual(drawn, ["address", "token", "use_tls", "tls_ca"])

    def test_a_generated_strip_offers_regenerate_and_vary(self) -> None:
        take = self.strips.new_movie(name="take", filepath=str(MOVIE), channel=1, frame_start=1)
        take["milimo_job_id"] = "j-1"
        self.select(take)
        buttons = draw(panels.MILIMO_PT_generate).find("operator", operator="milimo.regenerate")
        self.assertEqual(
            [(b.arguments["text"], b.properties) for b in buttons],
            [
                ("Regenerate", {"vary": False}),
                ("Vary", {"vary": True}),
            ],
        )
        take["milimo_kind"] = "matte"  # a track's matte is not remade by Regenerate
        self.assertFalse(draw(panels.MILIMO_PT_generate).find("operator", operator="milimo.regenerate"))

    def test_a_selected_placeholder_shows_its_prompt(self) -> None:
        shot = compat.new_effect(self.scene, "Shot 1", "COLOR", 1, 1, 24)
        shot["milimo_shot"], shot["milimo_prompt"] = True, "A ferry leaves at dawn"
        self.select(shot)
        (prompt,) = draw(panels.MILIMO_PT_placeholders).find("prop", text="Shot prompt")
        self.assertEqual((prompt.arguments["data"], prompt.arguments["property"]), (shot, '["milimo_prompt"]'))

    def test_jobs_show_progress_cancel_preview_and_what_went_wrong(self) -> None:
        jobs = self.scene.milimo.jobs
        for job_id, kind, status, progress, message in (
            ("j-done", "video", "SUCCEEDED", 100.0, ""),
            ("j-failed", "video", "FAILED", 30.0, "The model ran out of GPU memory"),
            ("", "track", "RUNNING", 55.0, ""),
            ("j-running", "animatic", "RUNNING", 40.0, ""),
        ):
            job = jobs.add()
            job.job_id, job.kind, job.status, job.progress, job.message = job_id, kind, status, progress, message
            job.client_request_id = f"key-{kind}-{status}"
            job.imported = status == "SUCCEEDED"
        previews.show("j-running", str(STILL))
        try:
            layout = draw(panels.MILIMO_PT_jobs)
            icon = previews.icon("j-running")  # 0 where this bpy makes no icons (4.2 without a window)
        finally:
            previews.forget("j-running")
        cancels = [(call.arguments["operator"], call.properties) for call in layout.find("operator", icon="X")]
        self.assertEqual(
            cancels,
            [("milimo.cancel_job", {"job_id": "j-running"}), ("milimo.cancel_track", {"key": "key-track-RUNNING"})],
        )
        bars = [(round(call.arguments["factor"], 2), call.arguments["text"]) for call in layout.find("progress")]
        self.assertEqual(bars, [(0.4, "Running 40%"), (0.55, "Running 55%")])
        self.assertEqual(
            [call.arguments for call in layout.find("template_icon")],
            [{"icon_value": icon, "scale": 4}] if icon else [],
        )
        self.assertIn("The model ran out of GPU memory", layout.texts())
        self.assertEqual(len(layout.find("operator", operator="milimo.clear_jobs")), 1)

    def test_the_segment_panel_picks_points_to_track_or_inpaint_a_selected_movie(self) -> None:
        self.select(self.strips.new_movie(name="take", filepath=str(MOVIE), channel=1, frame_start=1))
        layout = draw(bpy.types.MILIMO_PT_segment)
        self.assertNotIn("Select a movie strip", layout.texts())
        picks = [call.properties["action"] for call in layout.find("operator", operator="milimo.pick_points")]
        self.assertEqual(picks, ["TRACK", "INPAINT"])

    def test_imports_under_way_show_their_progress(self) -> None:
        progress = operators_otio.progress
        progress.action, progress.done, progress.total = "Importing", 500, 2000
        try:
            layout = draw(bpy.types.MILIMO_PT_otio)
        finally:
            progress.action = ""
        self.assertEqual(
            [(call.arguments["factor"], call.arguments["text"]) for call in layout.find("progress")],
            [(0.25, "Importing 500/2000")],
        )
        self.assertFalse(draw(bpy.types.MILIMO_PT_otio).find("progress"))

        imports = operators_storyboard.imports
        imports[self.scene.name] = operators_storyboard.ImportProgress(True, 0.5, "Reading ferry.fountain")
        try:
            layout = draw(bpy.types.MILIMO_PT_storyboard)
            self.assertEqual(layout.find("progress")[0].arguments["text"], "Reading ferry.fountain")
            self.assertEqual(len(layout.find("operator", operator="milimo.cancel_import")), 1)
            imports[self.scene.name] = operators_storyboard.ImportProgress(False, 1.0, "Imported 12 shots")
            self.assertIn("Imported 12 shots", draw(bpy.types.MILIMO_PT_storyboard).texts())
        finally:
            imports.pop(self.scene.name, None)


if __name__ == "__main__":
    unittest.main()
