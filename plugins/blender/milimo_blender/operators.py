"""Generate, regenerate, cancel and placeholder operators. Each returns at once: the work goes to a worker thread
and comes back through the main-thread queue, so no operator ever waits on the network."""

from __future__ import annotations

import bpy
from bpy.props import BoolProperty, IntProperty, StringProperty

from milimo.v1 import jobs_pb2

from . import compat, frame_render, models, requests, session, timeline
from .jobs import BuildRequest
from .requests import ShotSpec
from .timeline import Condition, NoTarget, Target

DEFAULT_PLACEHOLDER_FRAMES = 48
PLACEHOLDER_COLOR = (0.18, 0.32, 0.55)


def shot_spec(
    scene: bpy.types.Scene, target: Target, prompt: str, seed: int, condition: Condition | None, model: str = ""
) -> ShotSpec:
    settings = scene.milimo
    model = model or settings.model
    width, height = requests.scene_size(scene)
    return ShotSpec(
        target=target,
        prompt=prompt,
        negative_prompt=settings.negative_prompt,
        seed=seed,
        model=model,
        family=models.family_of(model),
        steps=settings.steps,
        width=width,
        height=height,
        fps=requests.scene_fps(scene),
        condition=None if model == requests.ANIMATIC else condition,
    )


def conditioning(scene: bpy.types.Scene, model: str) -> Condition | None:
    """What the shot starts from: the selected image or movie strip; else, with the panel's option on, the picture
    under the playhead as Blender renders it (every channel and effect), or the topmost strip's own frame there where
    that cannot be rendered in milliseconds. An animatic starts from nothing."""
    settings = scene.milimo
    if model == requests.ANIMATIC:
        return None
    under = timeline.picture_under_playhead(scene) if settings.use_playhead_frame else None
    if under is not None and not timeline.selected_pictures(scene) and frame_render.renders_quickly(scene):
        try:
            return Condition(frame_render.render(scene), 0, is_movie=False)
        except RuntimeError as error:  # e.g. a render already running: the strip's own frame will do
            print(f"Milimo: the frame under the playhead was not rendered ({error}); using its strip's frame")
    return timeline.condition(scene, settings.use_playhead_frame)


def submit_shot(scene: bpy.types.Scene, spec: ShotSpec) -> bpy.types.PropertyGroup:
    return session.tracker().submit(scene, _builder(spec, scene.milimo.project_id), **_fields(spec))


class SequencerOperator(bpy.types.Operator):
    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return compat.sequencer_scene(context) is not None


class MILIMO_OT_test_connection(bpy.types.Operator):
    """Ask the daemon's health service whether it is serving"""

    bl_idname = "milimo.test_connection"
    bl_label = "Test connection"

    def execute(self, context: bpy.types.Context) -> set[str]:
        connection = session.connection()
        address = connection.settings.address

        def answered(serving: bool) -> None:
            session.tell(
                f"The daemon at {address} is serving" if serving else f"The daemon at {address} is not serving"
            )

        connection.call(lambda client: client.serving(timeout=3.0), on_done=answered, on_error=session.tell)
        connection.check_now()
        self.report({"INFO"}, f"Checking {address}…")
        return {"FINISHED"}


class MILIMO_OT_generate_shot(SequencerOperator):
    """Generate a shot for the selected placeholder (from the request it keeps, if any), the gap under the playhead
    or the selected strip"""

    bl_idname = "milimo.generate_shot"
    bl_label = "Generate shot"

    def execute(self, context: bpy.types.Context) -> set[str]:
        scene = compat.sequencer_scene(context)
        settings = scene.milimo
        try:
            target = timeline.shot_target(scene)
        except NoTarget as no_target:
            self.report({"ERROR"}, str(no_target))
            return {"CANCELLED"}
        placeholder = compat.top_strips(scene).get(target.placeholder) if target.placeholder else None
        try:
            kept = _kept_request(placeholder) if placeholder is not None else None
        except ValueError as unreadable:
            self.report({"ERROR"}, str(unreadable))
            return {"CANCELLED"}
        prompt = settings.prompt.strip() or (_shot_prompt(placeholder, kept) if placeholder is not None else "")
        if not prompt:
            self.report({"ERROR"}, "Write a prompt first (or select a placeholder that has one)")
            return {"CANCELLED"}
        if kept is not None:  # the placeholder's own request (from OTIO), with the panel's prompt when it has one
            build, fields = _kept_shot(scene, target, kept, prompt)
            session.tracker().submit(scene, build, **fields)
            self.report(
                {"INFO"}, f"Queued a {target.frames}-frame shot at frame {target.frame_start}, from its request"
            )
            return {"FINISHED"}
        seed = requests.pick_seed(settings.seed, randomize=False)
        spec = shot_spec(scene, target, prompt, seed, conditioning(scene, settings.model))
        submit_shot(scene, spec)
        self.report({"INFO"}, f"Queued a {target.frames}-frame shot at frame {target.frame_start}")
        return {"FINISHED"}


class MILIMO_OT_regenerate(SequencerOperator):
    """Generate the active Milimo strip again in its place: with a new seed, or (vary) with the panel's prompt"""

    bl_idname = "milimo.regenerate"
    bl_label = "Regenerate"

    vary: BoolProperty(name="Vary", description="Keep the seed and use the panel's prompt instead of a new seed")

    def execute(self, context: bpy.types.Context) -> set[str]:
        scene = compat.sequencer_scene(context)
        strip = compat.active_strip(scene)
        if strip is None or not timeline.is_regenerable(strip):
            self.report({"ERROR"}, "Select a shot that Milimo generated (inpainted clips and mattes cannot be)")
            return {"CANCELLED"}
        target = Target(
            frame_start=strip.frame_final_start,
            frames=strip.frame_final_duration,
            channel=strip.channel,
            placeholder=strip.get("milimo_placeholder", ""),
            replaces=strip.name,
        )
        old_prompt = str(strip.get("milimo_prompt", ""))
        if self.vary:
            prompt, seed = scene.milimo.prompt.strip() or old_prompt, int(strip.get("milimo_seed", 0))
        else:
            prompt, seed = old_prompt, requests.pick_seed(0, randomize=True)
        model = str(strip.get("milimo_model", "")) or scene.milimo.model
        spec = shot_spec(scene, target, prompt, seed, conditioning(scene, model), model=model)
        submit_shot(scene, spec)
        return {"FINISHED"}


class MILIMO_OT_cancel_job(bpy.types.Operator):
    """Cancel this job (a running job stops within one step)"""

    bl_idname = "milimo.cancel_job"
    bl_label = "Cancel job"

    job_id: StringProperty()

    def execute(self, context: bpy.types.Context) -> set[str]:
        if not self.job_id:
            self.report({"ERROR"}, "This job has not reached the daemon yet")
            return {"CANCELLED"}
        session.tracker().cancel(self.job_id)
        return {"FINISHED"}


class MILIMO_OT_clear_jobs(SequencerOperator):
    """Remove finished, failed and cancelled jobs from the list (their strips stay)"""

    bl_idname = "milimo.clear_jobs"
    bl_label = "Clear finished"

    def execute(self, context: bpy.types.Context) -> set[str]:
        jobs = compat.sequencer_scene(context).milimo.jobs
        for index in reversed(range(len(jobs))):
            if jobs[index].imported or jobs[index].status in ("FAILED", "CANCELLED", "LOST"):
                jobs.remove(index)
        return {"FINISHED"}


class MILIMO_OT_mark_placeholder(SequencerOperator):
    """Mark the selected color or text strips as shots to generate, with the panel's prompt"""

    bl_idname = "milimo.mark_placeholder"
    bl_label = "Mark as shot"

    def execute(self, context: bpy.types.Context) -> set[str]:
        scene = compat.sequencer_scene(context)
        marked = [strip for strip in compat.selected_strips(scene) if strip.type in timeline.PLACEHOLDER_TYPES]
        if not marked:
            self.report({"ERROR"}, "Select color or text strips to mark as shots")
            return {"CANCELLED"}
        for strip in marked:
            mark(strip, scene.milimo.prompt.strip() or getattr(strip, "text", ""))
        self.report({"INFO"}, f"Marked {len(marked)} strip(s) as shots")
        return {"FINISHED"}


class MILIMO_OT_add_placeholder(SequencerOperator):
    """Add a placeholder shot at the playhead (filling the gap there when there is one)"""

    bl_idname = "milimo.add_placeholder"
    bl_label = "Add placeholder"

    frames: IntProperty(name="Frames", default=DEFAULT_PLACEHOLDER_FRAMES, min=1)

    def execute(self, context: bpy.types.Context) -> set[str]:
        scene = compat.sequencer_scene(context)
        start = scene.frame_current
        try:
            start, end = timeline.gap_at(scene, start)
        except NoTarget:
            end = start + self.frames
        channel = timeline.free_channel(scene, 1, start, end)
        prompt = scene.milimo.prompt.strip()
        strip = add_placeholder(scene, prompt or "Shot", start, end - start, channel)
        mark(strip, prompt)
        return {"FINISHED"}


class MILIMO_OT_generate_placeholders(SequencerOperator):
    """Queue every placeholder shot in timeline order, in one request to the daemon. A placeholder that keeps its own
    request (imported from OTIO) is made from it; the others from the panel's settings"""

    bl_idname = "milimo.generate_placeholders"
    bl_label = "Generate all placeholders"

    only_missing: BoolProperty(name="Only missing", default=True, description="Skip placeholders that have a take")

    def execute(self, context: bpy.types.Context) -> set[str]:
        scene = compat.sequencer_scene(context)
        shots = [strip for strip in timeline.placeholders(scene) if not (self.only_missing and _has_take(scene, strip))]
        if not shots:
            self.report({"WARNING"}, "No placeholder shots to generate")
            return {"CANCELLED"}
        try:
            kept = {strip.name: _kept_request(strip) for strip in shots}
        except ValueError as unreadable:
            self.report({"ERROR"}, str(unreadable))
            return {"CANCELLED"}
        prompts = {strip.name: _shot_prompt(strip, kept[strip.name]) for strip in shots}
        unprompted = [name for name, prompt in prompts.items() if not prompt]
        if unprompted:
            self.report({"ERROR"}, f"These placeholders have no prompt: {', '.join(unprompted[:5])}")
            return {"CANCELLED"}
        project_id = scene.milimo.project_id
        # The panel's conditioning picture is the same for every shot made from the panel: made once, if needed.
        panel_made = any(request is None for request in kept.values())
        condition = conditioning(scene, scene.milimo.model) if panel_made else None
        batch = []
        for strip in shots:
            target = Target(
                frame_start=strip.frame_final_start,
                frames=strip.frame_final_duration,
                channel=timeline.free_channel(scene, strip.channel, strip.frame_final_start, strip.frame_final_end),
                placeholder=strip.name,
            )
            request = kept[strip.name]
            if request is None:
                seed = requests.pick_seed(scene.milimo.seed, randomize=False)
                spec = shot_spec(scene, target, prompts[strip.name], seed, condition)
                batch.append((_builder(spec, project_id), _fields(spec)))
            else:
                batch.append(_kept_shot(scene, target, request, prompts[strip.name]))
        session.tracker().submit_many(scene, batch)
        self.report({"INFO"}, f"Queued {len(batch)} shots in timeline order")
        return {"FINISHED"}


def _kept_request(strip: bpy.types.Strip) -> jobs_pb2.JobRequest | None:
    """The request the placeholder keeps (`milimo_request`), if any. Raises ValueError when it is unreadable."""
    text = strip.get(timeline.REQUEST_KEY)
    return requests.read_request(str(text), f"Placeholder {strip.name!r}: {timeline.REQUEST_KEY}") if text else None


def _shot_prompt(strip: bpy.types.Strip, kept: jobs_pb2.JobRequest | None) -> str:
    """The strip's prompt (edited in the panel), else the one its own request has."""
    prompt = str(strip.get(timeline.PROMPT_KEY, "")).strip()
    return prompt or (requests.prompt_of(kept).strip() if kept is not None else "")


def _kept_shot(
    scene: bpy.types.Scene, target: Target, kept: jobs_pb2.JobRequest, prompt: str
) -> tuple[BuildRequest, dict[str, object]]:
    """A placeholder's own request fitted to its strip (model, size, seed and the rest as it says; a new random seed
    where it has none), and its job entry's fields."""
    model = requests.model_of(kept)
    fps, size, family = requests.scene_fps(scene), requests.scene_size(scene), models.family_of(model)
    seed = requests.pick_seed(0, randomize=True)
    request = requests.fit_request(kept, target.frames, fps, size, prompt, seed, family)
    fields = {
        "kind": request.WhichOneof("kind"),
        "label": prompt,
        "frame_start": target.frame_start,
        "frames": target.frames,
        "channel": target.channel,
        "placeholder": target.placeholder,
        "prompt": prompt,
        "seed": getattr(request, request.WhichOneof("kind")).seed,
        "model": model,
    }
    return (lambda _client: request), fields


def _builder(spec: ShotSpec, project_id: str) -> BuildRequest:
    return lambda client: requests.build(spec, client, project_id)


def _fields(spec: ShotSpec) -> dict[str, object]:
    return {
        "kind": "animatic" if spec.model == requests.ANIMATIC else "video",
        "label": spec.prompt,
        "frame_start": spec.target.frame_start,
        "frames": spec.target.frames,
        "channel": spec.target.channel,
        "placeholder": spec.target.placeholder,
        "replaces": spec.target.replaces,
        "prompt": spec.prompt,
        "seed": spec.seed,
        "model": spec.model,
    }


def add_placeholder(scene: bpy.types.Scene, name: str, start: int, frames: int, channel: int) -> bpy.types.Strip:
    strip = compat.new_effect(scene, name[:48], "COLOR", channel, start, frames)
    strip.color = PLACEHOLDER_COLOR
    return strip


def mark(strip: bpy.types.Strip, prompt: str) -> None:
    strip[timeline.PLACEHOLDER_KEY] = True
    strip[timeline.PROMPT_KEY] = prompt


def _has_take(scene: bpy.types.Scene, placeholder: bpy.types.Strip) -> bool:
    return any(strip.get("milimo_placeholder") == placeholder.name for strip in compat.top_strips(scene))


CLASSES = (
    MILIMO_OT_test_connection,
    MILIMO_OT_generate_shot,
    MILIMO_OT_regenerate,
    MILIMO_OT_cancel_job,
    MILIMO_OT_clear_jobs,
    MILIMO_OT_mark_placeholder,
    MILIMO_OT_add_placeholder,
    MILIMO_OT_generate_placeholders,
)
