"""OTIO export and import: a timeline exported, imported into a fresh scene and exported again is the same document
and the same strips; the daemon's placeholder conventions hold; real sample files import at their exact frames,
missing media included; the operators work off the main thread and report in the panel."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import unittest
from pathlib import Path

import bpy
import harness

ext = harness.install()
compat = harness.module("compat")
timeline_otio = harness.module("timeline_otio")
operators_otio = harness.module("operators_otio")
strip_copies = harness.module("strip_copies")

import opentimelineio as otio  # noqa: E402 - installed with the extension's wheels
from google.protobuf import json_format  # noqa: E402

from milimo.otio import conventions  # noqa: E402
from milimo.v1 import jobs_pb2  # noqa: E402

SAMPLES = Path(os.environ.get("MILIMO_OTIO_SAMPLES", "/work/shared/data/otio"))
HAS_SOUND = bpy.app.build_options.audaspace  # bpy 4.2 from PyPI is built without audio
MEDIA = Path(tempfile.mkdtemp(prefix="milimo-otio-media-"))
MOVIE = MEDIA / "take.mp4"
STILL = MEDIA / "still.png"
harness.make_movie(MOVIE, 24)
harness.make_still(STILL)
for number in range(1, 4):
    shutil.copyfile(STILL, MEDIA / f"frame_{number:04d}.png")


def tearDownModule() -> None:
    shutil.rmtree(MEDIA, ignore_errors=True)


def request_text(request: jobs_pb2.JobRequest) -> str:
    return conventions.payload_text(conventions.payload(request))


def build_scene(scene: bpy.types.Scene) -> None:
    """Several channels with gaps: placeholders (color and text), a movie with its sound, a generated take, a movie
    held before its first frame, a still, an image sequence, a muted color strip, an empty channel, and markers."""
    strips = compat.top_strips(scene)
    scene.frame_start, scene.frame_end = 1, 120
    take = strips.new_movie(name="Take", filepath=str(MOVIE), channel=1, frame_start=5)
    take.frame_offset_start = 3
    take.frame_final_duration = 12
    take.frame_start = 2  # shows frames 3 to 14 of the file from frame 5
    if HAS_SOUND:
        sound = strips.new_sound(name="Take sound", filepath=str(MOVIE), channel=2, frame_start=2)
        sound.frame_offset_start = 3
        sound.frame_final_duration = 12
    shot = compat.new_effect(scene, "Shot A", "COLOR", 1, 30, 24)
    shot["milimo_shot"] = True
    shot["milimo_prompt"] = "A door opens onto the sea"
    still = strips.new_image(name="Still", filepath=str(STILL), channel=1, frame_start=60)
    still.frame_final_duration = 10
    generated = strips.new_movie(name="Generated", filepath=str(MOVIE), channel=3, frame_start=20)
    generated.frame_final_duration = 10
    request = jobs_pb2.JobRequest(animatic=jobs_pb2.AnimaticRequest(width=64, height=64, description="A gull lands"))
    for key, value in {
        "job_id": "j-123",
        "asset_id": "a-456",
        "seed": 42,
        "prompt": "A gull lands",
        "model": "animatic",
        "placeholder": "Shot A",
        "previous_takes": ["/takes/one.mp4", "/takes/two.mp4"],
        "request": request_text(request),
    }.items():
        generated[f"milimo_{key}"] = value
    held = strips.new_movie(name="Hold", filepath=str(MOVIE), channel=3, frame_start=32)
    held.frame_offset_start = -2  # its first frame held for 2 frames, right after "Generated"
    held.frame_final_duration = 6
    titled = compat.new_effect(scene, "Shot B", "TEXT", 4, 40, 16)
    titled.text = "Shot B"
    titled["milimo_shot"] = True
    titled["milimo_prompt"] = "Night falls on the harbour"
    titled["milimo_shot_id"] = "s-7"
    slate = compat.new_effect(scene, "Slate", "COLOR", 4, 1, 4)
    slate.color = (0.25, 0.5, 0.75)
    slate.mute = True
    sequence = strips.new_image(name="Sequence", filepath=str(MEDIA / "frame_0001.png"), channel=6, frame_start=10)
    for number in (2, 3):
        sequence.elements.append(f"frame_{number:04d}.png")
    scene.timeline_markers.new("Scene 1", frame=1)
    scene.timeline_markers.new("Scene 2", frame=40)


def plain(value: object) -> object:
    return value.to_dict() if hasattr(value, "to_dict") else value.to_list() if hasattr(value, "to_list") else value


def strip_facts(scene: bpy.types.Scene) -> dict[str, tuple]:
    """What must survive a round trip, strip by strip."""
    facts = {}
    for strip in compat.top_strips(scene):
        media = ""
        if strip.type == "MOVIE":
            media = strip.filepath
        elif strip.type == "SOUND":
            media = strip.sound.filepath
        elif strip.type == "IMAGE":
            media = (strip.directory, tuple(element.filename for element in strip.elements))
        look = tuple(round(v, 6) for v in strip.color) if strip.type == "COLOR" else getattr(strip, "text", None)
        facts[strip.name] = (
            strip.type,
            strip.channel,
            strip.frame_final_start,
            strip.frame_final_end,
            strip.frame_offset_start if strip.type in ("MOVIE", "SOUND") else 0,
            media,
            look,
            strip.mute,
            {key: plain(value) for key, value in strip.items()},
        )
    return facts


def clips_by_name(timeline: otio.schema.Timeline) -> dict[str, otio.schema.Clip]:
    return {clip.name: clip for clip in timeline.find_clips()}


def rna_facts(item: bpy.types.bpy_struct, depth: int = 0) -> dict[str, object]:
    """Every RNA property of a strip (and of its transform, crop, elements…), data-blocks by their file."""
    facts = {}
    for prop in item.bl_rna.properties:
        if prop.identifier in ("rna_type", "name"):
            continue
        value = getattr(item, prop.identifier)
        if isinstance(value, bpy.types.ID):
            value = (type(value).__name__, getattr(value, "filepath", value.name))
        elif hasattr(value, "bl_rna"):
            value = rna_facts(value, depth + 1) if depth < 1 else type(value).__name__
        elif hasattr(value, "__len__") and not isinstance(value, str):
            value = [rna_facts(part, depth + 1) if hasattr(part, "bl_rna") else part for part in value]
        facts[prop.identifier] = value
    return facts


def movie_clip(name: str, path: Path, source_start: int, frames: int) -> otio.schema.Clip:
    """A clip of `path` (24 frames at 24 fps) showing `frames` frames from `source_start`."""
    available = otio.opentime.TimeRange(otio.opentime.RationalTime(0, 24), otio.opentime.RationalTime(24, 24))
    return otio.schema.Clip(
        name=name,
        media_reference=otio.schema.ExternalReference(target_url=path.as_uri(), available_range=available),
        source_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(source_start, 24), otio.opentime.RationalTime(frames, 24)
        ),
    )


class OtioTests(unittest.TestCase):
    maxDiff = None

    def setUp(self) -> None:
        self.scene = harness.fresh_scene()
        self.folder = Path(tempfile.mkdtemp(prefix="milimo-otio-"))
        self.addCleanup(shutil.rmtree, self.folder, ignore_errors=True)

    def test_export_then_import_is_identical(self) -> None:
        build_scene(self.scene)
        first = timeline_otio.export_timeline(self.scene)
        copy = harness.fresh_scene()
        report = timeline_otio.import_timeline(first, copy)
        self.assertEqual(report.warnings, [])
        self.assertEqual(report.missing_files, [])
        second = timeline_otio.export_timeline(copy)
        self.assertEqual((first.name, second.name), (self.scene.name, copy.name))
        second.name = first.name  # a timeline is named after its scene
        self.assertEqual(second.to_json_string(), first.to_json_string())
        self.assertTrue(second.is_equivalent_to(first))
        self.assertEqual(strip_facts(copy), strip_facts(self.scene))
        self.assertEqual(strip_facts(copy)["Hold"][1:5], (3, 30, 36, -2))
        self.assertEqual([(m.name, m.frame) for m in copy.timeline_markers], [("Scene 1", 1), ("Scene 2", 40)])
        self.assertEqual((copy.frame_start, copy.frame_end), (1, 120))

    def test_export_follows_the_daemon_placeholder_conventions(self) -> None:
        build_scene(self.scene)
        timeline = timeline_otio.export_timeline(self.scene)
        self.assertEqual(timeline.global_start_time, otio.opentime.RationalTime(1, 24))
        video = timeline.video_tracks()
        self.assertEqual([track.metadata["blender"]["channel"] for track in video], [1, 2, 3, 4, 5, 6])
        self.assertEqual([len(track) for track in video], [6, 0, 3, 3, 0, 2])  # clips and the gaps between them
        self.assertEqual([type(item).__name__ for item in video[0]], ["Gap", "Clip", "Gap", "Clip", "Gap", "Clip"])
        self.assertEqual(len(timeline.audio_tracks()), 1 if HAS_SOUND else 0)
        clips = clips_by_name(timeline)

        shot = clips["Shot A"]
        self.assertTrue(conventions.is_placeholder(shot) and not conventions.is_filled(shot))
        request = conventions.request_of(conventions.payload_of(shot, "Shot A"), "Shot A")
        self.assertEqual(request.animatic.description, "A door opens onto the sea")
        self.assertEqual((request.animatic.width, request.animatic.height), (64, 64))
        self.assertEqual(shot.source_range.duration, otio.opentime.RationalTime(24, 24))
        self.assertEqual(conventions.plain(clips["Shot B"].metadata["milimo"]), {"shot_id": "s-7"})

        generated = clips["Generated"]
        notes = conventions.plain(generated.metadata["milimo"])
        self.assertEqual(
            {key: notes[key] for key in ("job_id", "asset_id", "seed", "prompt", "model")},
            {"job_id": "j-123", "asset_id": "a-456", "seed": 42, "prompt": "A gull lands", "model": "animatic"},
        )
        self.assertTrue(conventions.is_filled(generated))
        kept = conventions.request_of(conventions.payload_of(generated, "Generated"), "Generated")
        self.assertEqual(kept.animatic.description, "A gull lands")

        take = clips["Take"]
        self.assertEqual(take.media_reference.target_url, MOVIE.as_uri())
        self.assertEqual(take.source_range, otio.opentime.TimeRange(otio.opentime.RationalTime(3, 24), take.duration()))
        self.assertEqual(take.duration().value, 12)
        self.assertEqual(take.media_reference.available_range.duration.value, 24)
        self.assertIsInstance(clips["Sequence"].media_reference, otio.schema.ImageSequenceReference)
        self.assertFalse(clips["Slate"].enabled)
        self.assertEqual(clips["Hold"].source_range.start_time.value, -2)

    def test_generated_strips_keep_the_request_of_their_job(self) -> None:
        take = compat.top_strips(self.scene).new_movie(name="Take", filepath=str(MOVIE), channel=1, frame_start=1)
        take["milimo_job_id"] = "j-9"
        job = self.scene.milimo.jobs.add()
        job.job_id = "j-9"
        request = jobs_pb2.JobRequest(video=jobs_pb2.VideoShotRequest(model="ltx", prompt="Rain", seed=5))
        job.request_json = json_format.MessageToJson(request, indent=None)
        clip = timeline_otio.export_timeline(self.scene).find_clips()[0]
        kept = conventions.request_of(conventions.payload_of(clip, "Take"), "Take")
        self.assertEqual(kept, request)
        copy = harness.fresh_scene()
        timeline_otio.import_timeline(timeline_otio.export_timeline(self.scene), copy)
        self.assertEqual(compat.top_strips(copy)["Take"]["milimo_request"], request_text(request))

    def test_round_trip_at_an_ntsc_rate_before_the_first_frame(self) -> None:
        self.scene.render.fps, self.scene.render.fps_base = 30, 1.001
        self.scene.frame_start, self.scene.frame_end = 10, 100
        compat.new_effect(self.scene, "Early", "COLOR", 2, 5, 7)
        compat.new_effect(self.scene, "Late", "ADJUSTMENT", 1, 30, 3)
        first = timeline_otio.export_timeline(self.scene)
        self.assertEqual(first.global_start_time, otio.opentime.RationalTime(5, 30000 / 1001))
        copy = harness.fresh_scene()
        timeline_otio.import_timeline(first, copy)
        self.assertEqual((copy.render.fps, round(copy.render.fps_base, 6)), (30, 1.001))
        self.assertEqual((copy.frame_start, copy.frame_end), (10, 100))
        second = timeline_otio.export_timeline(copy)
        second.name = first.name
        self.assertEqual(second.to_json_string(), first.to_json_string())
        self.assertEqual(strip_facts(copy), strip_facts(self.scene))

    def test_a_placeholder_from_a_storyboard_keeps_its_request(self) -> None:
        request = jobs_pb2.JobRequest(
            animatic=jobs_pb2.AnimaticRequest(scene_heading="INT. HALL - NIGHT", description="A door opens.")
        )
        timeline = otio.schema.Timeline("board", global_start_time=otio.opentime.RationalTime(0, 24))
        track = otio.schema.Track()
        timeline.tracks.append(track)
        track.append(
            conventions.make_placeholder(
                "Door", request, otio.opentime.RationalTime(48, 24), bookkeeping={"shot_id": "s-1", "project_id": "p-1"}
            )
        )
        timeline_otio.import_timeline(timeline, self.scene)
        strip = compat.top_strips(self.scene)["Door"]
        self.assertEqual(
            (strip.type, strip.frame_final_start, strip.frame_final_end, strip.channel), ("COLOR", 0, 48, 1)
        )
        self.assertEqual((strip["milimo_shot"], strip["milimo_prompt"]), (True, "A door opens."))
        self.assertEqual((strip["milimo_shot_id"], strip["milimo_project_id"]), ("s-1", "p-1"))
        self.assertEqual(
            json.loads(strip["milimo_request"])["request"]["animatic"]["scene_heading"], "INT. HALL - NIGHT"
        )
        again = timeline_otio.export_timeline(self.scene).find_clips()[0]
        self.assertEqual(conventions.request_of(conventions.payload_of(again, "Door"), "Door"), request)

    def test_a_file_used_many_times_becomes_the_same_strips_as_opened_ones(self) -> None:
        lost = Path("/nowhere/lost.mov")
        tracks = {
            otio.schema.TrackKind.Video: [
                [movie_clip("A", MOVIE, 0, 10), movie_clip("B", MOVIE, 5, 8), movie_clip("Lost 1", lost, 0, 4)],
                [
                    otio.schema.Gap(duration=otio.opentime.RationalTime(3, 24)),
                    movie_clip("C", MOVIE, -2, 6),
                    movie_clip("Whole", MOVIE, 0, 24),
                    movie_clip("Held", MOVIE, 20, 8),  # its last frame held for 4 more
                ],
                [movie_clip("D", MOVIE, 20, 4), movie_clip("Lost 2", lost, 1, 3)],
            ],
            otio.schema.TrackKind.Audio: [[movie_clip("A sound", MOVIE, 0, 10), movie_clip("B sound", MOVIE, 5, 8)]],
        }
        timeline = otio.schema.Timeline("reused", global_start_time=otio.opentime.RationalTime(1, 24))
        for kind, rows in tracks.items():
            for items in rows:
                timeline.tracks.append(otio.schema.Track(kind=kind, children=[item.clone() for item in items]))
        sounds = len(bpy.data.sounds)
        report = timeline_otio.import_timeline(timeline, self.scene)
        self.assertEqual(report.missing_files, [str(lost)])
        self.assertEqual(len(report.warnings), 0 if HAS_SOUND else 2)  # bpy 4.2 from PyPI has no audio
        self.assertEqual(report.strips, 10 if HAS_SOUND else 8)
        if HAS_SOUND:
            self.assertEqual(len(bpy.data.sounds) - sounds, 1)  # the file was opened once for both sound strips
        placed = {strip.name: strip for strip in compat.top_strips(self.scene)}
        self.assertFalse([name for name in placed if name.startswith(strip_copies.TEMPLATE_NAME)])
        self.assertEqual(
            {
                name: (s.channel, s.frame_final_start, s.frame_final_end, s.frame_offset_start)
                for name, s in placed.items()
            },
            {
                "A": (1, 1, 11, 0),
                "B": (1, 11, 19, 5),
                "Lost 1": (1, 19, 23, 0),
                "C": (2, 4, 10, -2),
                "Whole": (2, 10, 34, 0),
                "Held": (2, 34, 42, 20),
                "D": (3, 1, 5, 20),
                "Lost 2": (3, 5, 8, 1),
            }
            | ({"A sound": (4, 1, 11, 0), "B sound": (4, 11, 19, 5)} if HAS_SOUND else {}),
        )
        # Each strip is what opening its file gives.
        opened = harness.fresh_scene()
        plan = timeline_otio.plan_import(timeline, timeline_otio.shot_defaults(opened))
        for strip in plan.strips:
            timeline_otio.add_strip(opened, strip, strip_copies.StripCopier([], 0))
        self.assertEqual(
            {name: rna_facts(strip) for name, strip in placed.items()},
            {strip.name: rna_facts(strip) for strip in compat.top_strips(opened)},
        )

    def test_import_simple_cut_with_missing_media(self) -> None:
        timeline = timeline_otio.read_timeline(str(SAMPLES / "simple_cut.otio"))
        report = timeline_otio.import_timeline(timeline, self.scene)
        names = ("titles", "wind-up", "punchline", "credits")
        self.assertEqual(report.missing_files, [f"/folder/{name}.mov" for name in names])
        placed = sorted(compat.top_strips(self.scene), key=lambda strip: strip.frame_final_start)
        self.assertEqual(
            [(s.name, s.type, s.channel, s.frame_final_start, s.frame_final_end, s.filepath) for s in placed],
            [
                ("Clip-001", "MOVIE", 1, 1, 4, "/folder/titles.mov"),
                ("Clip-002", "MOVIE", 1, 4, 10, "/folder/wind-up.mov"),
                ("Clip-003", "MOVIE", 1, 10, 14, "/folder/punchline.mov"),
                ("Clip-004", "MOVIE", 1, 14, 20, "/folder/credits.mov"),  # its file starts at 100, as it does
            ],
        )
        self.assertEqual([s.frame_offset_start for s in placed], [3, 2, 0, 0])
        self.assertEqual((self.scene.frame_start, self.scene.frame_end), (1, 19))

    def test_import_multitrack_with_clips_that_have_no_media(self) -> None:
        timeline = timeline_otio.read_timeline(str(SAMPLES / "multitrack.otio"))
        report = timeline_otio.import_timeline(timeline, self.scene)
        self.assertEqual((report.strips, report.warnings, report.missing_files), (5, [], []))
        placed = sorted(compat.top_strips(self.scene), key=lambda strip: (strip.channel, strip.frame_final_start))
        self.assertEqual(
            [(s.name, s.type, s.channel, s.frame_final_start, s.frame_final_end) for s in placed],
            [
                ("tech.fux (loop)-HD.mp4", "COLOR", 1, 1, 721),
                ("out-b (loop)-HD.mp4", "COLOR", 1, 804, 1526),
                ("brokchrd (loop)-HD.mp4", "COLOR", 1, 1958, 2678),
                ("t-hawk (loop)-HD.mp4", "COLOR", 2, 483, 963),
                ("KOLL-HD.mp4", "COLOR", 3, 1199, 1839),
            ],
        )
        self.assertTrue(all(strip["milimo_missing_media"] for strip in placed))
        channels = self.scene.sequence_editor.channels
        self.assertEqual([channels[n].name for n in (1, 2, 3)], ["Sequence", "Sequence 2", "Sequence 3"])
        # A stand-in goes back out as the clip it stood for.
        again = clips_by_name(timeline_otio.export_timeline(self.scene))["KOLL-HD.mp4"]
        self.assertIsInstance(again.media_reference, otio.schema.MissingReference)

    def test_import_skips_transitions_and_says_so(self) -> None:
        timeline = timeline_otio.read_timeline(str(SAMPLES / "transition.otio"))
        report = timeline_otio.import_timeline(timeline, self.scene)
        self.assertEqual(report.strips, 4)
        self.assertEqual(len(report.warnings), 1)
        self.assertIn("transitions", report.warnings[0])

    def test_operators_export_and_import_off_the_main_thread(self) -> None:
        build_scene(self.scene)
        path = self.folder / "cut.otio"
        self.assertEqual(bpy.ops.milimo.export_otio(filepath=str(path)), {"FINISHED"})
        harness.pump(lambda: not operators_otio.busy(), what="the export")
        count = len(compat.top_strips(self.scene))
        self.assertIn(f"Exported {count} strips", operators_otio.progress.message)
        self.assertEqual(
            otio.adapters.read_from_file(str(path)).to_json_string(),
            timeline_otio.export_timeline(self.scene).to_json_string(),
        )
        self.assertEqual(bpy.ops.milimo.import_otio(filepath=str(path)), {"FINISHED"})
        harness.pump(lambda: not operators_otio.busy(), what="the import")
        self.assertIn(f"Imported {count} strips from cut.otio", operators_otio.progress.message)
        shown = compat.sequencer_scene(bpy.context)
        self.assertNotEqual(shown.name, self.scene.name)  # the scene had strips: the import made a new one
        self.assertEqual(strip_facts(shown), strip_facts(self.scene))

    def test_operator_reports_missing_media_and_unreadable_files(self) -> None:
        self.assertEqual(bpy.ops.milimo.import_otio(filepath=str(SAMPLES / "simple_cut.otio")), {"FINISHED"})
        harness.pump(lambda: not operators_otio.busy(), what="the import")
        message = operators_otio.progress.message
        self.assertIn("Imported 4 strips from simple_cut.otio", message)
        self.assertIn("4 media file(s) are missing (/folder/titles.mov", message)
        self.assertIn("Find Missing Files", message)
        self.assertEqual(compat.sequencer_scene(bpy.context), self.scene)  # it was empty: the import went there
        broken = self.folder / "broken.otio"
        broken.write_text("not a timeline")
        bpy.ops.milimo.import_otio(filepath=str(broken))
        harness.pump(lambda: not operators_otio.busy(), what="the failed import")
        message = operators_otio.progress.message
        self.assertTrue(message.startswith(f"Could not import {broken}: "), message)
        self.assertIn("is not an OpenTimelineIO file", message)
        self.assertNotIn("Traceback", message)
