"""The one client library (gRPC stubs + helpers) shared by the CLI, Blender and Resolve plugins.

It needs only grpcio and protobuf, so the editor plugins can vendor it.
"""

from milimo.client.client import Client, connect

__all__ = ["Client", "connect"]
