"""What the extension keeps in the .blend: the panel's settings and every job it started (so a reopened file can
pick its jobs up again)."""

from __future__ import annotations

import bpy
from bpy.props import (
    BoolProperty,
    CollectionProperty,
    EnumProperty,
    FloatProperty,
    IntProperty,
    PointerProperty,
    StringProperty,
)

from . import models

TERMINAL = {"SUCCEEDED", "FAILED", "CANCELLED"}


class MilimoJob(bpy.types.PropertyGroup):
    job_id: StringProperty(name="Job")
    client_request_id: StringProperty(description="The idempotency key the job was submitted with")
    request_json: StringProperty(description="The request as sent, to resubmit it if Blender closed first")
    kind: StringProperty()
    label: StringProperty(description="What the job makes, for the job list")
    status: StringProperty(default="SUBMITTING")
    progress: FloatProperty(name="Progress", subtype="PERCENTAGE", min=0, max=100)
    message: StringProperty()
    frame_start: IntProperty()
    frames: IntProperty()
    channel: IntProperty(default=1)
    placeholder: StringProperty(description="The placeholder strip this job fills")
    replaces: StringProperty(description="The generated strip this job replaces when it succeeds")
    anchor: StringProperty(description="The source strip a matte or inpainted clip is aligned to")
    prompt: StringProperty()
    seed: IntProperty()
    model: StringProperty()
    media_dir: StringProperty(subtype="DIR_PATH", description="Where the results are written")
    imported: BoolProperty(description="The results are on the timeline")
    result_strip: StringProperty()


class MilimoSettings(bpy.types.PropertyGroup):
    prompt: StringProperty(name="Prompt", description="What the shot shows")
    negative_prompt: StringProperty(name="Negative", description="What the shot must not show")
    seed: IntProperty(name="Seed", min=0, description="0 picks a new random seed for every shot")
    model: EnumProperty(name="Model", items=models.enum_items, description="A model the daemon has configured")
    steps: IntProperty(name="Steps", min=0, max=200, description="Denoising steps; 0 uses the model's default")
    use_playhead_frame: BoolProperty(
        name="Start from the frame under the playhead",
        description="Condition the shot on the sequencer's picture under the playhead, rendered with every channel and "
        "effect, when no image or movie strip is selected",
    )
    segment_text: StringProperty(name="Object", description="Text naming the object to track (SAM 3)")
    segment_model: EnumProperty(
        name="Segmentation",
        items=models.segment_enum_items,
        description="The daemon's model that finds and tracks the object; Automatic: the first that takes the prompt",
    )
    inpaint_prompt: StringProperty(name="Replace with", description="What to paint into the tracked object")
    inpaint_model: EnumProperty(
        name="Inpainting",
        items=models.inpaint_enum_items,
        description="The daemon's image model that repaints the object; Automatic: the first that can",
    )
    project_id: StringProperty(description="The daemon project that holds this scene's storyboard")
    jobs: CollectionProperty(type=MilimoJob)
    active_job: IntProperty()


CLASSES = (MilimoJob, MilimoSettings)


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.Scene.milimo = PointerProperty(type=MilimoSettings)


def unregister() -> None:
    del bpy.types.Scene.milimo
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
