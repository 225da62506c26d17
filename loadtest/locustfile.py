"""Locust WebSocket load test for Parley: rooms of members, senders, fan-out latency and loss.

Every room gets ``--senders-per-room`` senders and listeners up to
``--members-per-room``; all of them are members (the sender receives its own
messages too, as in the seed). A sender writes the seed's frame
``{"handle", "message"}`` at ``--message-rate`` per second, with its send time
in the text, and every member that receives it reports the fan-out latency as
a ``WS deliver`` request. At the end each member is checked against what the
senders of its process sent into its room while it was connected; what never
arrived is reported as ``WS lost`` failures, and a summary (deliveries, p50 /
p99, lost) is logged and, with ``--csv PREFIX``, written to
``PREFIX_fanout.json``.

    locust -f loadtest/locustfile.py --headless -u 100 -r 20 -t 2m \\
        --host http://127.0.0.1:8000 --ws-host ws://127.0.0.1:8000,ws://127.0.0.1:8001

Requests in Locust's stats (type ``WS`` unless said):

- ``connect``: WebSocket handshake time, per connection; a failure when refused;
- ``send``: a chat frame written by a sender (time to write it);
- ``deliver``: send -> receive at one member (wall clocks: run the generator on
  one machine, or keep its clocks in sync);
- ``ack`` (``--parley-v1`` only): send -> ``ack``, i.e. durably stored;
- failures: ``lost``, ``duplicate``, ``order`` (an id not above the last seen),
  ``gap`` (ids skipped), ``closed`` (the server dropped a socket), ``error``
  (an error frame), ``frame`` (an unreadable frame);
- HTTP ``/new/`` or ``/[label]/``: creating or opening the rooms, and page views.

This file only wires the parts together. Locust puts this folder on
``sys.path`` while it imports this file, so its siblings import by plain name:

- ``options``: the command-line options above;
- ``placement``: how big the rooms are, which room and server each user goes to;
- ``members``: the abstract room member (socket, receive loop, reporting);
- ``client_model``: what a member sends, resends and asks for after a reconnect,
  its backoff, and the check of the room's sequence (no I/O: the fault tests
  drive the same model over asyncio);
- ``scenarios``: the users Locust runs, ``Listener`` and ``Sender``;
- ``end_check``: the drain, the lost messages and the run's fan-out report;
- ``fanout`` (the ledger and its summary), ``wire`` (message text, URLs, frames),
  ``connection`` (opening and closing a socket).
"""

import end_check
import placement
from locust import events
from locust.runners import WorkerRunner
from options import add_options
from scenarios import Listener, Sender

__all__ = ["Listener", "Sender"]  # Locust runs the user classes it finds in this module


def on_test_start(environment, **_kwargs) -> None:
    """Called when a test starts: size the rooms (master or only process), forget the last test."""
    runner = environment.runner
    if not isinstance(runner, WorkerRunner):
        Sender.fixed_count, Listener.fixed_count = placement.plan_rooms(environment)
    end_check.reset()
    placement.reset(environment.parsed_options, getattr(runner, "worker_index", 0))


events.init_command_line_parser.add_listener(add_options)
events.init.add_listener(end_check.on_init)
events.test_start.add_listener(on_test_start)
events.test_stopping.add_listener(end_check.on_test_stopping)
events.test_stop.add_listener(end_check.on_test_stop)
