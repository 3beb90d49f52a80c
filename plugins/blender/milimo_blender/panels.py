"""The "Milimo" tab in the sequencer's sidebar."""

from __future__ import annotations

import bpy

from . import compat, jobs, previews, session, timeline


class SequencerPanel(bpy.types.Panel):
    bl_space_type = "SEQUENCE_EDITOR"
    bl_region_type = "UI"
    bl_category = "Milimo"


class MILIMO_PT_main(SequencerPanel):
    bl_label = "Milimo"

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        status = session.connection().status
        row = layout.row()
        row.label(text=status.message, icon="CHECKMARK" if status.online else "ERROR")
        row.operator("milimo.test_connection", text="", icon="FILE_REFRESH")
        if session.notice:
            layout.label(text=session.notice, icon="INFO")


class MILIMO_PT_generate(SequencerPanel):
    bl_label = "Generate shot"
    bl_parent_id = "MILIMO_PT_main"

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        scene = compat.sequencer_scene(context)
        settings = scene.milimo
        layout.prop(settings, "prompt")
        layout.prop(settings, "negative_prompt")
        row = layout.row()
        row.prop(settings, "model", text="")
        row.prop(settings, "seed")
        row.prop(settings, "steps")
        layout.prop(settings, "use_playhead_frame")
        layout.operator("milimo.generate_shot", icon="RENDER_ANIMATION")
        strip = compat.active_strip(scene)
        if strip is not None and timeline.is_regenerable(strip):
            row = layout.row(align=True)
            row.operator("milimo.regenerate", text="Regenerate", icon="FILE_REFRESH").vary = False
            row.operator("milimo.regenerate", text="Vary", icon="MOD_NOISE").vary = True


class MILIMO_PT_placeholders(SequencerPanel):
    bl_label = "Placeholders"
    bl_parent_id = "MILIMO_PT_main"

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        row = layout.row(align=True)
        row.operator("milimo.add_placeholder", icon="ADD")
        row.operator("milimo.mark_placeholder", icon="BOOKMARKS")
        layout.operator("milimo.generate_placeholders", icon="SEQ_SEQUENCER")
        strip = compat.active_strip(compat.sequencer_scene(context))
        if strip is not None and timeline.is_placeholder(strip):
            layout.prop(strip, f'["{timeline.PROMPT_KEY}"]', text="Shot prompt")


class MILIMO_PT_jobs(SequencerPanel):
    bl_label = "Jobs"
    bl_parent_id = "MILIMO_PT_main"

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        scene = compat.sequencer_scene(context)
        for job in reversed(scene.milimo.jobs):
            box = layout.box()
            row = box.row()
            row.label(text=job.label[:40] or job.kind, icon=_status_icon(job.status))
            if jobs.is_active(job):
                if job.kind == "track":  # runs in this Blender, not as a daemon job
                    row.operator("milimo.cancel_track", text="", icon="X").key = job.client_request_id
                else:
                    row.operator("milimo.cancel_job", text="", icon="X").job_id = job.job_id
                _progress(box, job)
                if icon := previews.icon(job.job_id):
                    box.template_icon(icon_value=icon, scale=4)
            if job.message:
                box.label(text=job.message)
        layout.operator("milimo.clear_jobs", icon="TRASH")


def _progress(layout: bpy.types.UILayout, job: bpy.types.PropertyGroup) -> None:
    text = f"{job.status.title()} {job.progress:.0f}%"
    if hasattr(layout, "progress"):  # Blender 4.0 and later
        layout.progress(factor=job.progress / 100, type="BAR", text=text)
    else:
        layout.prop(job, "progress", text=text, slider=True)


def _status_icon(status: str) -> str:
    return {"SUCCEEDED": "CHECKMARK", "FAILED": "ERROR", "CANCELLED": "CANCEL", "LOST": "QUESTION"}.get(status, "TIME")


CLASSES = (MILIMO_PT_main, MILIMO_PT_generate, MILIMO_PT_placeholders, MILIMO_PT_jobs)
