"""``python -m app.ops.interface_server``: daphne's command line with bounded sockets."""

from app.ops.interface_server import BoundedCommandLineInterface

BoundedCommandLineInterface.entrypoint()
