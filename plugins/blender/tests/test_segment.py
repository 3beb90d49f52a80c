"""Tracking and inpainting an object of a movie strip end to end against a live daemon (tiny SAM 3 and FLUX
checkpoints): by text and by points, the matte and the inpainted clip aligned above the source, the models chosen in
the panel, cancelling, clear errors; and the pure maths that maps a click in the preview to the source picture's
pixels."""

from __future__ import annotations

import json
import math
import random
import shutil
import tempfile
import unittest
from pathlib import Path

import bpy
import harness

ext = harness.install()
compat = harness.module("compat")
models = harness.module("models")
segment = harness.module("operators_segment")
coords = harness.module("preview_coords")

from milimo.v1 import common_pb2, jobs_pb2  # noqa: E402 - importable once the extension's wheels are in
from milimo.v1 import segmentation_pb2 as seg  # noqa: E402

FRAMES = 9


def finished(job: bpy.types.PropertyGroup) -> bool:
    return job.imported or job.status in ("FAILED", "CANCELLED", "LOST")


def models_known() -> bool:
    return bool(models.segmenters()) and bool(models.image_models())


class SegmentTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        """A 64x64, 9-frame clip made by the daemon's animatic kind."""
        harness.pump(harness.online, what="the daemon connection")
        harness.pump(models_known, what="the daemon's models")
        client = harness.module("session").connection().client
        card = jobs_pb2.AnimaticRequest(
            width=64, height=64, frames=FRAMES, fps=common_pb2.Rational(num=24, den=1), description="A red ball"
        )
        job = client.wait(client.submit(jobs_pb2.JobRequest(animatic=card)).id)
        cls.clip = client.download(job.result_asset_ids[0], Path(tempfile.mkdtemp(prefix="milimo-clip-")) / "ball.mp4")

    @classmethod
    def tearDownClass(cls) -> None:
        shutil.rmtree(cls.clip.parent, ignore_errors=True)

    def setUp(self) -> None:
        harness.pump(harness.online, what="the daemon connection")
        self.scene = harness.fresh_scene()
        self.client = harness.module("session").connection().client
        strips = compat.top_strips(self.scene)
        self.source = strips.new_movie(name="ball", filepath=str(self.clip), channel=1, frame_start=20)
        # Trimmed at both ends and moved: the matte must follow all of it.
        self.source.frame_offset_start, self.source.frame_offset_end = 2, 1
        self.source.transform.offset_x, self.source.transform.scale_x = 6, 1.25
        self.source.select = True
        self.scene.sequence_editor.active_strip = self.source
        self.scene.frame_current = 24  # frame 4 of the file

    def assert_over_the_source(self, strip: bpy.types.Strip) -> None:
        source = self.source
        self.assertEqual(strip.type, "MOVIE")
        self.assertEqual(strip.frame_start, source.frame_start)
        self.assertEqual(
            (strip.frame_final_start, strip.frame_final_end), (source.frame_final_start, source.frame_final_end)
        )
        self.assertEqual((strip.frame_offset_start, strip.frame_offset_end), (2, 1))
        self.assertGreater(strip.channel, source.channel)

    def run_job(self) -> bpy.types.PropertyGroup:
        job = self.scene.milimo.jobs[-1]
        harness.pump(lambda: finished(job), what=f"the {job.kind} job")
        self.assertEqual(job.status, "SUCCEEDED", job.message)
        return job

    def test_tracking_by_text_places_an_aligned_matte_on_the_next_free_channel(self) -> None:
        compat.new_effect(self.scene, "blocker", "COLOR", 2, 25, 3)  # channel 2 is taken over the source
        self.scene.milimo.segment_text = "ball"
        self.assertEqual(bpy.ops.milimo.track_object(), {"FINISHED"})
        job = self.run_job()
        self.assertEqual((job.kind, job.anchor, job.model, job.progress), ("track", "ball", "tiny-sam3", 100))
        matte = compat.top_strips(self.scene)[job.result_strip]
        self.assert_over_the_source(matte)
        self.assertEqual(matte.channel, 3)
        self.assertEqual((matte.transform.offset_x, matte.transform.scale_x), (6, 1.25))
        self.assertEqual(matte.frame_duration, FRAMES)
        self.assertEqual(matte["milimo_matte_of"], "ball")
        self.assertEqual(json.loads(matte["milimo_segment_prompt"]), {"frame": 4, "text": "ball", "points": []})
        # The saved track is of the uploaded source, made with the model, and the matte is its export.
        header = next(
            iter(self.client.segmentation.ReadTrack(seg.ReadTrackRequest(asset_id=matte["milimo_track_asset_id"])))
        )
        self.assertEqual(header.header.source_asset_id, matte["milimo_source_asset_id"])
        self.assertEqual((header.header.model, header.header.frames), ("tiny-sam3", FRAMES))
        self.assertTrue(Path(matte.filepath).is_file())

    def test_tracking_by_points_picked_in_the_preview(self) -> None:
        placement = coords.placement_of(self.source, self.scene)
        x, y = coords.view_to_image(placement, 0.0, 0.0)  # a click at the preview's centre
        prompt = segment.SegmentPrompt(frame=4, points=((x, y, 1), (2.0, 2.0, 0)))
        self.assertEqual(segment.run_action(self.scene, "TRACK", self.source, prompt), "Tracking 2 points in ball")
        job = self.run_job()
        matte = compat.top_strips(self.scene)[job.result_strip]
        self.assert_over_the_source(matte)
        self.assertEqual(matte.channel, 2)
        self.assertEqual(json.loads(matte["milimo_segment_prompt"])["points"], [[x, y, 1], [2.0, 2.0, 0]])

    def test_inpainting_by_text_comes_back_above_the_source_frame_for_frame(self) -> None:
        self.scene.milimo.segment_text = "ball"
        self.scene.milimo.inpaint_prompt = "a blue cube"
        self.scene.milimo.steps = 2
        self.scene.milimo.seed = 7
        self.assertEqual(bpy.ops.milimo.inpaint_object(), {"FINISHED"})
        job = self.run_job()
        self.assertEqual((job.kind, job.anchor, job.model, job.seed), ("inpaint", "ball", "tiny-flux", 7))
        strip = compat.top_strips(self.scene)[job.result_strip]
        self.assert_over_the_source(strip)
        self.assertEqual(strip.channel, 2)
        self.assertEqual((strip["milimo_prompt"], strip["milimo_model"]), ("a blue cube", "tiny-flux"))
        request = self.client.jobs.Get(jobs_pb2.GetJobRequest(job_id=job.job_id)).request.inpaint
        self.assertEqual((request.segment.model, request.segment.text, request.segment_frame), ("tiny-sam3", "ball", 4))

    def test_the_model_menus_list_the_daemon_models_of_each_kind(self) -> None:
        def names(items: list[tuple[str, str, str]]) -> list[str]:
            return [identifier for identifier, _name, _description in items]

        self.assertEqual(names(models.segment_enum_items(None, None)), ["automatic", "tiny-sam3", "tiny-sam2"])
        self.assertEqual(names(models.inpaint_enum_items(None, None)), ["automatic", "tiny-flux", "tiny-klein"])
        self.assertEqual((self.scene.milimo.segment_model, self.scene.milimo.inpaint_model), ("automatic", "automatic"))

    def test_the_chosen_models_reach_the_inpaint_request(self) -> None:
        settings = self.scene.milimo
        settings.segment_model, settings.inpaint_model = "tiny-sam2", "tiny-klein"
        settings.inpaint_prompt = "a blue cube"
        prompt = segment.SegmentPrompt(frame=4, points=((32.0, 32.0, 1),))
        message = segment.run_action(self.scene, "INPAINT", self.source, prompt)
        self.assertEqual(message, "Queued inpainting 1 points in ball")
        job = self.scene.milimo.jobs[-1]
        harness.pump(lambda: job.job_id != "" or job.status == "FAILED", what="the inpaint job's id")
        self.client.jobs.Cancel(jobs_pb2.CancelJobRequest(job_id=job.job_id))  # only its request matters here
        request = self.client.jobs.Get(jobs_pb2.GetJobRequest(job_id=job.job_id)).request.inpaint
        self.assertEqual((request.model, request.segment.model), ("tiny-klein", "tiny-sam2"))
        self.assertEqual(job.model, "tiny-klein")
        harness.pump(lambda: finished(job), what="the cancellation")
        self.assertEqual(segment.segmenter(by_text=False, chosen="tiny-sam2"), "tiny-sam2")  # and tracking takes it

    def test_cancelling_a_track_places_nothing(self) -> None:
        prompt = segment.SegmentPrompt(frame=4, text="ball")
        key = segment.start_track(self.scene, self.source, prompt, "tiny-sam3")
        self.assertEqual(bpy.ops.milimo.cancel_track(key=key), {"FINISHED"})
        job = self.scene.milimo.jobs[-1]
        harness.pump(lambda: finished(job), what="the cancellation")
        self.assertEqual(job.status, "CANCELLED")
        self.assertEqual([strip.name for strip in compat.top_strips(self.scene)], ["ball"])
        self.assertNotIn(key, segment.tracks)

    def test_a_track_left_running_in_a_reopened_file_is_marked_interrupted(self) -> None:
        stale, live = self.scene.milimo.jobs.add(), self.scene.milimo.jobs.add()
        stale.kind = live.kind = "track"
        stale.status = live.status = "RUNNING"
        stale.client_request_id, live.client_request_id = "from-the-file", "running-here"
        segment.tracks["running-here"] = segment.TrackRun()
        try:
            segment.mark_interrupted_tracks()
        finally:
            del segment.tracks["running-here"]
        self.assertEqual((stale.status, live.status), ("FAILED", "RUNNING"))
        self.assertIn("Blender closed while tracking", stale.message)

    def test_missing_choices_are_reported_clearly(self) -> None:
        self.scene.milimo.segment_text = ""
        with self.assertRaisesRegex(RuntimeError, "Name the object"):
            bpy.ops.milimo.track_object()
        self.scene.milimo.segment_text = "ball"
        with self.assertRaisesRegex(RuntimeError, "Write what to paint"):
            bpy.ops.milimo.inpaint_object()
        self.scene.frame_current = 5
        with self.assertRaisesRegex(RuntimeError, "Move the playhead over ball"):
            bpy.ops.milimo.track_object()
        self.scene.frame_current = 24
        self.scene.milimo.segment_model = "tiny-sam2"
        with self.assertRaisesRegex(RuntimeError, "tiny-sam2 cannot find an object by text"):
            bpy.ops.milimo.track_object()
        self.scene.milimo.segment_model = "automatic"
        self.source.select = False
        with self.assertRaisesRegex(RuntimeError, "Select a movie strip"):
            bpy.ops.milimo.track_object()
        self.assertEqual(len(self.scene.milimo.jobs), 0)


class PlacementTests(unittest.TestCase):
    """Region to image maths against Blender's preview (view centred on the render frame) and strip transform."""

    def test_an_untransformed_picture_fills_the_frame(self) -> None:
        square = coords.Placement(64, 64, 64, 64)
        self.assertEqual(coords.view_to_image(square, 0, 0), (32, 32))
        self.assertEqual(coords.view_to_image(square, -32, 32), (0, 0))  # the top-left corner
        self.assertEqual(coords.view_to_image(square, 31.5, -31.5), (63.5, 63.5))

    def test_a_smaller_picture_is_centred_by_whole_pixels(self) -> None:
        self.assertEqual(coords.view_to_image(coords.Placement(64, 64, 64, 48), 0, 0), (32, 24))
        # (65 - 64) / 2 truncates to 0, as Blender's integer centring does.
        self.assertEqual(coords.view_to_image(coords.Placement(65, 64, 64, 64), -32.5, 0)[0], 0)

    def test_offset_scale_rotation_and_origin(self) -> None:
        self.assertEqual(coords.view_to_image(coords.Placement(64, 64, 64, 64, offset_x=10), 10, 0), (32, 32))
        self.assertEqual(coords.view_to_image(coords.Placement(64, 64, 64, 64, scale_x=2), 20, 0), (42, 32))
        corner = coords.Placement(64, 64, 64, 64, scale_x=2, origin_x=0, origin_y=0)
        self.assertEqual(coords.view_to_image(corner, -12, 0)[0], 10)
        # A quarter turn counter-clockwise: what was right of the centre is above it.
        turned = coords.Placement(64, 64, 64, 64, rotation=math.pi / 2)
        x, y = coords.view_to_image(turned, 0, 10)
        self.assertAlmostEqual(x, 42)
        self.assertAlmostEqual(y, 32)

    def test_flips_mirror_the_frame_and_pixel_aspect_stretches_it(self) -> None:
        self.assertEqual(coords.view_to_image(coords.Placement(64, 64, 64, 64, flip_x=True), -30, 0), (62, 32))
        self.assertEqual(coords.view_to_image(coords.Placement(64, 64, 64, 64, flip_y=True), 0, 30), (32, 62))
        self.assertEqual(coords.view_to_image(coords.Placement(64, 64, 64, 64, pixel_aspect=2), 64, 0), (64, 32))

    def test_image_to_view_undoes_view_to_image(self) -> None:
        rng = random.Random(3)
        for _ in range(50):
            placement = coords.Placement(
                rng.choice([64, 1920]),
                rng.choice([64, 1080]),
                rng.choice([48, 1280]),
                rng.choice([64, 720]),
                pixel_aspect=rng.choice([1, 0.9, 2]),
                offset_x=rng.uniform(-50, 50),
                offset_y=rng.uniform(-50, 50),
                scale_x=rng.uniform(0.2, 3),
                scale_y=rng.uniform(0.2, 3),
                rotation=rng.uniform(-3, 3),
                origin_x=rng.random(),
                origin_y=rng.random(),
                flip_x=rng.random() < 0.5,
                flip_y=rng.random() < 0.5,
            )
            view = (rng.uniform(-500, 500), rng.uniform(-500, 500))
            back = coords.image_to_view(placement, *coords.view_to_image(placement, *view))
            self.assertAlmostEqual(back[0], view[0], places=6)
            self.assertAlmostEqual(back[1], view[1], places=6)

    def test_cropped_and_outside_pixels_are_not_shown(self) -> None:
        cropped = coords.Placement(64, 64, 64, 64, crop_left=4, crop_right=2, crop_bottom=1, crop_top=5)
        self.assertTrue(coords.shows(cropped, 4, 5))
        self.assertFalse(coords.shows(cropped, 3, 10))
        self.assertFalse(coords.shows(cropped, 10, 4))
        self.assertFalse(coords.shows(cropped, 62, 10))
        self.assertFalse(coords.shows(cropped, 10, 63))
        self.assertFalse(coords.shows(coords.Placement(64, 64, 64, 64), -0.5, 10))

    def test_placement_is_read_from_the_strip_and_scene(self) -> None:
        scene = harness.fresh_scene()
        scene.render.resolution_x, scene.render.pixel_aspect_x = 96, 2
        image = bpy.data.images.new("probe", 40, 30)
        folder = Path(tempfile.mkdtemp(prefix="milimo-still-"))
        self.addCleanup(shutil.rmtree, folder, ignore_errors=True)
        image.filepath_raw = str(folder / "probe.png")
        image.file_format = "PNG"
        image.save()
        strip = compat.top_strips(scene).new_image(name="still", filepath=image.filepath_raw, channel=1, frame_start=1)
        strip.transform.offset_x, strip.transform.offset_y, strip.transform.rotation = 3, -4, 0.5
        strip.transform.scale_x, strip.transform.scale_y, strip.transform.origin = 2, 3, (0.25, 0.75)
        strip.use_flip_x, strip.crop.min_x, strip.crop.max_y = True, 2, 3
        placement = coords.placement_of(strip, scene)
        self.assertEqual(
            placement,
            coords.Placement(96, 64, 40, 30, 2.0, 3, -4, 2, 3, placement.rotation, 0.25, 0.75, True, False, 2, 0, 0, 3),
        )
        self.assertAlmostEqual(placement.rotation, 0.5, places=6)


class PickingTests(unittest.TestCase):
    def test_keys_and_clicks_while_picking(self) -> None:
        self.assertEqual(segment.command("LEFTMOUSE", "PRESS", False), "positive")
        self.assertEqual(segment.command("LEFTMOUSE", "PRESS", True), "negative")
        self.assertEqual(segment.command("RIGHTMOUSE", "PRESS", False), "negative")
        self.assertEqual(segment.command("LEFTMOUSE", "RELEASE", False), "")
        self.assertEqual(segment.command("BACK_SPACE", "PRESS", False), "undo")
        self.assertEqual(segment.command("Z", "PRESS", True), "undo")
        self.assertEqual(segment.command("RET", "PRESS", False), "run")
        self.assertEqual(segment.command("NUMPAD_ENTER", "PRESS", False), "run")
        self.assertEqual(segment.command("ESC", "PRESS", False), "cancel")
        self.assertEqual(segment.command("WHEELUPMOUSE", "PRESS", False), "")  # zooming the preview still works

    def test_a_prompt_becomes_the_request_fields(self) -> None:
        prompt = segment.SegmentPrompt(frame=3, points=((1.5, 2.5, 1), (4.0, 5.0, 0)))
        request = prompt.segmentation("tiny-sam2")
        self.assertEqual(request.model, "tiny-sam2")
        self.assertEqual([(p.x, p.y, p.label) for p in request.points], [(1.5, 2.5, 1), (4.0, 5.0, 0)])
        self.assertEqual(prompt.describe(), "2 points")
        self.assertEqual(segment.SegmentPrompt(frame=0, text="cup").describe(), "“cup”")
