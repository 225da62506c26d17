"""A worker sent SIGTERM (a rolling deploy) stores what it holds, exits 0, loses nothing."""

import asyncio
import signal

from tests.support.chat import connect, create_room, recv_messages, send_chat
from tests.support.checks import room_rows


async def test_sigterm_mid_stream_loses_no_message(make_topology):
    topology = make_topology(
        webs=1, workers=1, PARLEY_RATE_PER_SECOND="1000", PARLEY_RATE_BURST="1000"
    )
    web, worker = topology.webs[0], topology.workers[0]
    label = create_room(web.url)
    listener = await connect(web.ws_url, label)
    senders = [await connect(web.ws_url, label) for _ in range(5)]
    texts = {sender: [f"s{i}-m{n}" for n in range(30)] for i, sender in enumerate(senders)}

    async def send_all(sender) -> None:
        for text in texts[sender]:
            await send_chat(sender, "drain", text)

    sending = asyncio.gather(*(send_all(sender) for sender in senders))
    await recv_messages(listener, 10, timeout=30)  # the stream is flowing
    code = worker.stop(signal.SIGTERM, timeout=30)
    assert code == 0, worker.log_tail()
    assert "Worker drained" in worker.log_path.read_text()
    await sending
    topology.start_worker()  # the next deploy's worker takes what waited in Redis
    total = sum(len(batch) for batch in texts.values())
    await recv_messages(listener, total - 10, timeout=60)
    stored = [row.message for row in room_rows(topology, label)]
    assert sorted(stored) == sorted(t for batch in texts.values() for t in batch)
    for batch in texts.values():  # and each sender's messages kept their order
        assert [m for m in stored if m in set(batch)] == batch
    await asyncio.gather(*(s.close() for s in [listener, *senders]))
