"""Generating shots end to end against a live daemon (animatic kind): into a gap, over placeholders, at the
exact frame and channel, cancelling, and registering twice."""

from __future__ import annotations

import unittest

import bpy
import harness

ext = harness.install()
compat = harness.module("compat")
timeline = harness.module("timeline")


def jobs_done(scene: bpy.types.Scene) -> bool:
    return all(job.imported or job.status in ("FAILED", "CANCELLED") for job in scene.milimo.jobs)


class ShotTests(unittest.TestCase):
    def setUp(self) -> None:
        harness.pump(harness.online, what="the daemon connection")
        self.scene = harness.fresh_scene()

    def add_color(self, name: str, channel: int, start: int, frames: int) -> bpy.types.Strip:
        return compat.new_effect(self.scene, name, "COLOR", channel, start, frames)

    def test_generate_into_the_gap_under_the_playhead(self) -> None:
        self.add_color("before", 1, 1, 10)
        self.add_color("after", 1, 35, 10)
        self.scene.frame_current = 20
        self.scene.milimo.prompt = "A lighthouse at dusk"
        self.assertEqual(bpy.ops.milimo.generate_shot(), {"FINISHED"})
        harness.pump(lambda: jobs_done(self.scene), what="the shot")
        job = self.scene.milimo.jobs[0]
        self.assertEqual(job.status, "SUCCEEDED", job.message)
        strip = compat.top_strips(self.scene)[job.result_strip]
        self.assertEqual(strip.type, "MOVIE")
        self.assertEqual((strip.frame_final_start, strip.frame_final_end, strip.channel), (11, 35, 1))
        self.assertEqual(strip["milimo_job_id"], job.job_id)
        self.assertEqual(strip["milimo_prompt"], "A lighthouse at dusk")
        self.assertEqual(strip["milimo_model"], "animatic")
        self.assertEqual(strip["milimo_seed"], job.seed)

    def test_placeholders_generate_in_timeline_order_above_themselves(self) -> None:
        late = self.add_color("late", 2, 40, 12)
        early = self.add_color("early", 1, 1, 24)
        operators = harness.module("operators")
        operators.mark(late, "The second shot")
        operators.mark(early, "The first shot")
        self.add_color("blocker", 3, 40, 12)  # channel 3 is taken over the late shot: it goes to 4
        self.assertEqual(bpy.ops.milimo.generate_placeholders(), {"FINISHED"})
        harness.pump(lambda: len(self.scene.milimo.jobs) == 2 and jobs_done(self.scene), what="both shots")
        first, second = self.scene.milimo.jobs
        self.assertEqual((first.placeholder, second.placeholder), ("early", "late"))
        strips = compat.top_strips(self.scene)
        placed = {job.placeholder: strips[job.result_strip] for job in self.scene.milimo.jobs}
        self.assertEqual((placed["early"].frame_final_start, placed["early"].channel), (1, 2))
        self.assertEqual((placed["late"].frame_final_start, placed["late"].frame_final_end), (40, 52))
        self.assertEqual(placed["late"].channel, 4)
        # Done: generating again skips placeholders that have a take.
        self.assertEqual(bpy.ops.milimo.generate_placeholders(), {"CANCELLED"})

    def test_regenerate_keeps_the_place_and_the_old_file(self) -> None:
        self.add_color("end", 1, 30, 5)
        self.scene.frame_current = 5
        self.scene.milimo.prompt = "First take"
        bpy.ops.milimo.generate_shot()
        harness.pump(lambda: jobs_done(self.scene), what="the first take")
        strips = compat.top_strips(self.scene)
        first = strips[self.scene.milimo.jobs[0].result_strip]
        first_file, place = first.filepath, (first.frame_final_start, first.frame_final_end, first.channel)
        for strip in strips:
            strip.select = False
        first.select = True
        self.scene.sequence_editor.active_strip = first
        self.assertEqual(bpy.ops.milimo.regenerate(vary=False), {"FINISHED"})
        harness.pump(lambda: len(self.scene.milimo.jobs) == 2 and jobs_done(self.scene), what="the second take")
        second_job = self.scene.milimo.jobs[1]
        second = strips[second_job.result_strip]
        self.assertEqual((second.frame_final_start, second.frame_final_end, second.channel), place)
        self.assertNotEqual(second_job.seed, self.scene.milimo.jobs[0].seed)
        self.assertEqual(list(second["milimo_previous_takes"]), [bpy.path.abspath(first_file)])
        self.assertEqual(len([strip for strip in strips if strip.type == "MOVIE"]), 1)

    def test_cancel_a_running_job(self) -> None:
        self.scene.render.resolution_x, self.scene.render.resolution_y = 640, 384
        self.add_color("end", 1, 1001, 5)
        self.scene.frame_current = 1
        self.scene.milimo.prompt = "A long shot to cancel"
        bpy.ops.milimo.generate_shot()
        job = self.scene.milimo.jobs[0]
        harness.pump(lambda: job.status == "RUNNING" and job.progress > 0, what="the job to run")
        self.assertEqual(bpy.ops.milimo.cancel_job(job_id=job.job_id), {"FINISHED"})
        harness.pump(lambda: job.status == "CANCELLED", what="the cancellation")
        self.assertFalse(job.imported)
        self.assertFalse([strip for strip in compat.top_strips(self.scene) if strip.type == "MOVIE"])

    def test_no_gap_gives_a_clear_error(self) -> None:
        self.scene.frame_current = 500
        self.scene.milimo.prompt = "Nowhere to go"
        with self.assertRaises(RuntimeError) as raised:
            bpy.ops.milimo.generate_shot()
        self.assertIn("after the last strip", str(raised.exception))
        self.assertEqual(len(self.scene.milimo.jobs), 0)
