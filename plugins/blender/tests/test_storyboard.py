"""Importing a screenplay end to end against a live daemon: one placeholder per shot in board order, back to back
with their durations and prompts, scene markers, the scene's project, a second import adding only its own shots,
batch generation of the placeholders (animatic kind), and clear reports for bad files and a missing daemon."""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import unittest
from fractions import Fraction
from pathlib import Path

import bpy
import harness

ext = harness.install()
compat = harness.module("compat")
storyboard = harness.module("operators_storyboard")

from milimo.v1 import projects_pb2, storyboard_pb2  # noqa: E402 - importable once the extension's wheels are in

BRICK_AND_STEEL = harness.SHARED_DATA / "fountain" / "brick_and_steel.fountain"
SMALL_SCRIPT = """Title: Two Rooms

INT. KITCHEN - NIGHT

Mara pours tea by the window.

She looks at the door.

EXT. GARDEN - DAY

The gate swings open in the wind.
"""


def import_done(scene: bpy.types.Scene) -> bool:
    progress = storyboard.imports.get(scene.name)
    return progress is not None and not progress.running


def jobs_done(scene: bpy.types.Scene) -> bool:
    return all(job.imported or job.status in ("FAILED", "CANCELLED") for job in scene.milimo.jobs)


def placeholders(scene: bpy.types.Scene) -> list[bpy.types.Strip]:
    return harness.module("timeline").placeholders(scene)


class StoryboardTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.folder = Path(tempfile.mkdtemp(prefix="milimo-scripts-"))
        cls.addClassCleanup(shutil.rmtree, cls.folder, ignore_errors=True)
        cls.small = cls.folder / "two_rooms.fountain"
        cls.small.write_text(SMALL_SCRIPT)

    def setUp(self) -> None:
        harness.pump(harness.online, what="the daemon connection")
        self.scene = harness.fresh_scene()
        self.client = harness.module("session").connection().client

    def import_script(self, path: Path, **options: object) -> str:
        self.assertEqual(bpy.ops.milimo.import_screenplay(filepath=str(path), **options), {"FINISHED"})
        harness.pump(lambda: import_done(self.scene), what=f"the import of {path.name}")
        return storyboard.imports[self.scene.name].message

    def board(self) -> storyboard_pb2.StoryboardView:
        request = storyboard_pb2.GetStoryboardRequest(project_id=self.scene.milimo.project_id)
        return self.client.storyboard.GetStoryboard(request)

    @unittest.skipUnless(BRICK_AND_STEEL.exists(), f"{BRICK_AND_STEEL} is absent (set MILIMO_SHARED_DATA)")
    def test_a_fountain_script_becomes_placeholders_in_board_order(self) -> None:
        self.scene.frame_current = 1
        message = self.import_script(BRICK_AND_STEEL)
        view = self.board()
        shots = [(shot, entry.scene) for entry in view.scenes for shot in entry.shots]
        strips = placeholders(self.scene)
        self.assertIn(f"Imported {len(shots)} shots in {len(view.scenes)} scenes", message)
        self.assertGreater(len(view.scenes), 1)
        self.assertEqual(len(strips), len(shots))
        # The scene's project is made to the scene's measure.
        project = self.client.projects.GetProject(projects_pb2.GetProjectRequest(project_id=view.project.id))
        self.assertEqual((project.width, project.height, project.fps.num, project.fps.den), (64, 64, 24, 1))
        frame = 1
        for strip, (shot, scene) in zip(strips, shots, strict=True):
            self.assertEqual(strip.type, "COLOR")
            self.assertEqual(strip["milimo_shot_id"], shot.id)
            self.assertEqual(strip["milimo_scene_id"], scene.id)
            self.assertEqual(strip["milimo_prompt"], storyboard.shot_prompt(shot, scene))
            self.assertIn((shot.description or shot.action).strip().rstrip("."), strip["milimo_prompt"])
            self.assertEqual((strip.frame_final_start, strip.frame_final_duration), (frame, shot.duration_frames))
            self.assertEqual(strip.channel, strips[0].channel)
            frame += shot.duration_frames
        self.assertGreaterEqual(self.scene.frame_end, frame - 1)
        firsts = {}
        for strip, (_shot, scene) in zip(strips, shots, strict=True):
            firsts.setdefault(scene.id, (strip.frame_final_start, scene.heading))
        markers = sorted((marker.frame, marker.name) for marker in self.scene.timeline_markers)
        self.assertEqual(markers, sorted((start, heading[:63]) for start, heading in firsts.values()))
        self.assertEqual(markers[0][1], "EXT. BRICK'S PATIO - DAY")

    def test_a_small_script_imports_at_the_playhead_then_generates_as_animatics(self) -> None:
        compat.new_effect(self.scene, "existing", "COLOR", 1, 1, 40)
        self.scene.frame_current = 10
        self.import_script(self.small)
        strips = placeholders(self.scene)
        self.assertEqual(len(strips), 3)
        self.assertEqual({strip.channel for strip in strips}, {2})  # channel 1 is taken from frame 10
        self.assertEqual(strips[0].frame_final_start, 10)
        for before, after in itertools.pairwise(strips):
            self.assertEqual(after.frame_final_start, before.frame_final_end)
        self.assertEqual(strips[0]["milimo_prompt"], "Mara pours tea by the window. Kitchen, interior, night.")
        self.assertEqual(strips[2]["milimo_prompt"], "The gate swings open in the wind. Garden, exterior, day.")
        markers = sorted((marker.frame, marker.name) for marker in self.scene.timeline_markers)
        self.assertEqual(markers, [(10, "INT. KITCHEN - NIGHT"), (strips[2].frame_final_start, "EXT. GARDEN - DAY")])

        self.assertEqual(bpy.ops.milimo.generate_placeholders(), {"FINISHED"})
        harness.pump(lambda: len(self.scene.milimo.jobs) == 3 and jobs_done(self.scene), what="the animatics")
        takes = compat.top_strips(self.scene)
        for job, strip in zip(self.scene.milimo.jobs, strips, strict=True):
            self.assertEqual(job.status, "SUCCEEDED", job.message)
            self.assertEqual(job.placeholder, strip.name)
            take = takes[job.result_strip]
            self.assertEqual(
                (take.frame_final_start, take.frame_final_end), (strip.frame_final_start, strip.frame_final_end)
            )
            self.assertEqual(take["milimo_prompt"], strip["milimo_prompt"])

    def test_a_second_import_reuses_the_project_and_adds_only_its_shots(self) -> None:
        self.scene.frame_current = 1
        self.import_script(self.small)
        project_id = self.scene.milimo.project_id
        first = placeholders(self.scene)
        self.scene.frame_current = first[-1].frame_final_end
        self.import_script(self.small, at_playhead=True)
        self.assertEqual(self.scene.milimo.project_id, project_id)
        strips = placeholders(self.scene)
        self.assertEqual(len(strips), 6)
        self.assertEqual(len({strip["milimo_shot_id"] for strip in strips}), 6)
        self.assertEqual(strips[3].frame_final_start, first[-1].frame_final_end)
        self.assertEqual(sum(len(entry.shots) for entry in self.board().scenes), 6)

    def test_a_project_the_daemon_lost_is_made_again(self) -> None:
        self.scene.milimo.project_id = "p-0000000000000000"
        self.import_script(self.small)
        self.assertNotEqual(self.scene.milimo.project_id, "p-0000000000000000")
        self.assertEqual(len(placeholders(self.scene)), 3)

    def test_files_that_are_not_scripts_are_refused_clearly(self) -> None:
        picture = self.folder / "still.png"
        picture.write_bytes(b"\x89PNG")
        with self.assertRaises(RuntimeError) as refused:
            bpy.ops.milimo.import_screenplay(filepath=str(picture))
        self.assertIn("still.png is not a screenplay", str(refused.exception))
        with self.assertRaises(RuntimeError) as missing:
            bpy.ops.milimo.import_screenplay(filepath=str(self.folder / "gone.fountain"))
        self.assertIn("No screenplay file at", str(missing.exception))
        self.assertNotIn(self.scene.name, storyboard.imports)

    def test_an_unreachable_daemon_is_reported_in_a_sentence(self) -> None:
        harness.point_at("127.0.0.1:9")
        try:
            message = self.import_script(self.small)
        finally:
            harness.point_at(os.environ["MILIMO_DAEMON"])
        self.assertIn("is not reachable", message)
        self.assertNotIn("Traceback", message)
        self.assertEqual(placeholders(self.scene), [])


class PromptTests(unittest.TestCase):
    def test_the_prompt_is_the_description_then_the_place_and_time(self) -> None:
        scene = storyboard_pb2.Scene(
            location="HARBOUR DINER", setting=storyboard_pb2.SETTING_INTERIOR, time_of_day="NIGHT"
        )
        shot = projects_pb2.Shot(description="Mara waits.", action="ignored")
        self.assertEqual(storyboard.shot_prompt(shot, scene), "Mara waits. Harbour Diner, interior, night.")
        self.assertEqual(storyboard.shot_prompt(projects_pb2.Shot(action="A door"), None), "A door.")
        self.assertEqual(storyboard.shot_prompt(projects_pb2.Shot(), storyboard_pb2.Scene(location="Mill")), "Mill.")
        self.assertEqual(storyboard.shot_prompt(projects_pb2.Shot(), None), "")

    def test_durations_follow_the_scene_frame_rate(self) -> None:
        self.assertEqual(storyboard.scene_frames(48, Fraction(24), Fraction(24)), 48)
        self.assertEqual(storyboard.scene_frames(48, Fraction(24), Fraction(30000, 1001)), 60)
        self.assertEqual(storyboard.scene_frames(1, Fraction(24), Fraction(1)), 1)
