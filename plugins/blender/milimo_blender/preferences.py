"""Add-on preferences: where the daemon is and how to reach it, with a "Test connection" button."""

from __future__ import annotations

import bpy
from bpy.props import BoolProperty, StringProperty

from . import session
from .connection import DEFAULT_ADDRESS


def _changed(_self: bpy.types.AddonPreferences, _context: bpy.types.Context) -> None:
    session.start()


class MilimoPreferences(bpy.types.AddonPreferences):
    bl_idname = session.ADDON

    address: StringProperty(
        name="Daemon address", default=DEFAULT_ADDRESS, update=_changed, description="HOST:PORT of `milimo serve`"
    )
    token: StringProperty(
        name="Token",
        subtype="PASSWORD",
        update=_changed,
        description="The daemon's token (needed when it listens beyond this computer)",
    )
    use_tls: BoolProperty(name="TLS", update=_changed, description="Encrypt the connection (a remote daemon)")
    tls_ca: StringProperty(
        name="CA certificate",
        subtype="FILE_PATH",
        update=_changed,
        description="The certificate that signed the daemon's, when it is not publicly trusted",
    )

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        layout.prop(self, "address")
        layout.prop(self, "token")
        row = layout.row()
        row.prop(self, "use_tls")
        sub = row.row()
        sub.active = self.use_tls
        sub.prop(self, "tls_ca")
        row = layout.row()
        row.operator("milimo.test_connection", icon="LINKED")
        row.label(text=session.connection().status.message)


CLASSES = (MilimoPreferences,)
