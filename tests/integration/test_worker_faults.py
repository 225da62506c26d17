"""Worker faults injected for real: a commit whose worker died before it could broadcast.

A worker that dies between its commit and its broadcast leaves a stored
message nobody was told about; its sender, seeing no ack, sends it again. The
test writes that state into Postgres itself (the row and the room's counter,
as the dead worker's transaction did) and lets the client resend: the resend
must reach every live member at once, not at the next resync (set far off here).
"""

import time

import psycopg
import pytest

from tests.support.chat import (
    connect,
    create_room,
    frames_until,
    recv_json,
    recv_until,
    send_chat,
)
from tests.support.checks import room_rows
from tests.support.fault_report import FaultRow
from tests.support.topology import Topology

HANG_GUARD = 30.0  # seconds: only bounds a hang; resync is 10 times further off


def commit_without_broadcast(topology: Topology, label: str, client_id: str, text: str) -> int:
    """Store a message as a worker's transaction would, and tell nobody; return its seq."""
    with psycopg.connect(topology.env["DATABASE_URL"]) as conn:
        room_id, seq = conn.execute(
            "UPDATE chat_room SET last_seq = last_seq + 1, last_message_at = now() "
            "WHERE label = %s RETURNING id, last_seq",
            (label,),
        ).fetchone()
        conn.execute(
            "INSERT INTO chat_message (room_id, seq, handle, message, client_id, timestamp) "
            "VALUES (%s, %s, 'ada', %s, %s, now())",
            (room_id, seq, text, client_id),
        )
    return seq


async def next_message(socket) -> dict:
    """The next chat-message frame, skipping acks and presence."""
    while (frame := await recv_json(socket, timeout=HANG_GUARD)).get("type", "message") != (
        "message"
    ):
        pass
    return frame


@pytest.mark.fault
async def test_a_resend_of_a_message_committed_but_never_broadcast_reaches_everyone(
    make_topology, fault_report
) -> None:
    topology = make_topology(webs=2, workers=1, PARLEY_RESYNC_SECONDS="300")
    web1, web2 = topology.webs
    label = create_room(web1.url)
    sender = await connect(web1.ws_url, label, opt_in=True, handle="ada")
    watcher = await connect(web2.ws_url, label)  # plain, on the other server
    await recv_until(sender, "presence")

    seq = commit_without_broadcast(topology, label, "lost-1", "committed, never broadcast")
    resent = time.monotonic()
    await send_chat(sender, "ada", "committed, never broadcast", client_id="lost-1")
    frames = await frames_until(sender, {"ack", "message"}, HANG_GUARD)
    ack = frames["ack"]
    seen = [frames["message"], await next_message(watcher)]
    reached = time.monotonic() - resent
    fault_report.add(
        FaultRow(
            "worker died between commit and broadcast; the sender resends",
            sent=1,
            acked=1,
            stored=len(room_rows(topology, label)),
            lost=sum(f["message"] != "committed, never broadcast" for f in seen),
            duplicated=0,
            out_of_order=0,
            recovery_s=reached,
        )
    )

    assert (ack["id"], ack["duplicate"]) == (seq, True)
    assert [(f["id"], f["message"]) for f in seen] == [(seq, "committed, never broadcast")] * 2
    await sender.close()
    await watcher.close()
