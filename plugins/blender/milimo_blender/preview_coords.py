"""Where a click in the sequencer preview lands in a strip's source picture, and back.

The preview draws the render frame centred on the view's origin, `resolution_x * pixel aspect` by `resolution_y`
view units (Blender's `sequencer_display_size`). Into that frame the sequencer draws the strip's picture with its
transform: centred (integer offset), moved by `offset`, then rotated and scaled about `origin`; flipping mirrors the
transformed result across the frame (Blender's `calc_strip_transform_matrix` and `input_preprocess`). The maths is
a pure function of numbers (`Placement`), so it is tested without a window; `placement_of` reads those numbers from
a strip and its scene.

Image pixels here are the source picture's own, x to the right and y down from the top-left corner: what the
segmentation models take.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import bpy


@dataclass(frozen=True)
class Placement:
    """How the sequencer shows one picture strip inside the render frame (full resolution, before proxies)."""

    render_width: int
    render_height: int
    image_width: int
    image_height: int
    pixel_aspect: float = 1.0  # render.pixel_aspect_x / pixel_aspect_y
    offset_x: float = 0.0
    offset_y: float = 0.0
    scale_x: float = 1.0
    scale_y: float = 1.0
    rotation: float = 0.0  # radians, counter-clockwise
    origin_x: float = 0.5  # the pivot, as a fraction of the picture from its bottom-left corner
    origin_y: float = 0.5
    flip_x: bool = False
    flip_y: bool = False
    crop_left: int = 0  # pixels of the picture hidden on each side
    crop_right: int = 0
    crop_bottom: int = 0
    crop_top: int = 0

    def _translation(self) -> tuple[float, float]:
        # Blender centres the picture by an integer offset (C division truncates toward zero).
        centre_x = math.trunc((self.render_width - self.image_width) / 2)
        centre_y = math.trunc((self.render_height - self.image_height) / 2)
        return self.offset_x + centre_x, self.offset_y + centre_y

    def _pivot(self) -> tuple[float, float]:
        return self.image_width * self.origin_x, self.image_height * self.origin_y


def view_to_image(placement: Placement, view_x: float, view_y: float) -> tuple[float, float]:
    """The source picture's pixel under preview view coordinates (possibly outside the picture)."""
    p = placement
    frame_x = view_x / p.pixel_aspect + p.render_width / 2
    frame_y = view_y + p.render_height / 2
    if p.flip_x:
        frame_x = p.render_width - frame_x
    if p.flip_y:
        frame_y = p.render_height - frame_y
    move_x, move_y = p._translation()
    pivot_x, pivot_y = p._pivot()
    dx, dy = frame_x - move_x - pivot_x, frame_y - move_y - pivot_y
    cos, sin = math.cos(p.rotation), math.sin(p.rotation)
    # Undo the rotation (rotate by -angle), then the scale.
    local_x = (cos * dx + sin * dy) / p.scale_x
    local_y = (-sin * dx + cos * dy) / p.scale_y
    return pivot_x + local_x, p.image_height - (pivot_y + local_y)


def image_to_view(placement: Placement, x: float, y: float) -> tuple[float, float]:
    """Preview view coordinates of the source picture's pixel (x, y): the inverse of `view_to_image`."""
    p = placement
    move_x, move_y = p._translation()
    pivot_x, pivot_y = p._pivot()
    local_x, local_y = (x - pivot_x) * p.scale_x, (p.image_height - y - pivot_y) * p.scale_y
    cos, sin = math.cos(p.rotation), math.sin(p.rotation)
    frame_x = move_x + pivot_x + cos * local_x - sin * local_y
    frame_y = move_y + pivot_y + sin * local_x + cos * local_y
    if p.flip_x:
        frame_x = p.render_width - frame_x
    if p.flip_y:
        frame_y = p.render_height - frame_y
    return (frame_x - p.render_width / 2) * p.pixel_aspect, frame_y - p.render_height / 2


def shows(placement: Placement, x: float, y: float) -> bool:
    """Whether pixel (x, y) of the source picture is inside it and not cropped away."""
    p = placement
    return (
        p.crop_left <= x < p.image_width - p.crop_right
        and p.crop_top <= y < p.image_height - p.crop_bottom  # y runs down: the top crop comes first
    )


def placement_of(strip: bpy.types.Strip, scene: bpy.types.Scene) -> Placement:
    """The numbers `view_to_image` needs, read from a picture strip and its scene."""
    render, transform, crop = scene.render, strip.transform, strip.crop
    element = strip.elements[0]
    return Placement(
        render_width=render.resolution_x,
        render_height=render.resolution_y,
        image_width=element.orig_width,
        image_height=element.orig_height,
        pixel_aspect=render.pixel_aspect_x / render.pixel_aspect_y,
        offset_x=transform.offset_x,
        offset_y=transform.offset_y,
        scale_x=transform.scale_x,
        scale_y=transform.scale_y,
        rotation=transform.rotation,
        origin_x=transform.origin[0],
        origin_y=transform.origin[1],
        flip_x=strip.use_flip_x,
        flip_y=strip.use_flip_y,
        crop_left=crop.min_x,
        crop_right=crop.max_x,
        crop_bottom=crop.min_y,
        crop_top=crop.max_y,
    )


def region_to_image(
    region: bpy.types.Region,
    view2d: bpy.types.View2D,
    strip: bpy.types.Strip,
    scene: bpy.types.Scene,
    x: float,
    y: float,
) -> tuple[float, float] | None:
    """The source pixel under region pixel (x, y) of the preview, or None when the click is outside the region or
    misses the strip's visible picture."""
    if not (0 <= x < region.width and 0 <= y < region.height):
        return None
    placement = placement_of(strip, scene)
    image_x, image_y = view_to_image(placement, *view2d.region_to_view(x, y))
    return (image_x, image_y) if shows(placement, image_x, image_y) else None


def image_to_region(
    view2d: bpy.types.View2D, strip: bpy.types.Strip, scene: bpy.types.Scene, x: float, y: float
) -> tuple[float, float]:
    """Region pixel of source pixel (x, y), to draw a picked point where it was clicked."""
    view_x, view_y = image_to_view(placement_of(strip, scene), x, y)
    return view2d.view_to_region(view_x, view_y, clip=False)
