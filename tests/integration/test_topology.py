"""The split topology, started from the Procfile: two web servers, two workers."""

import asyncio
import json

from tests.support.chat import connect, create_room, recv_messages, send_chat, visit_room


async def test_message_reaches_members_on_both_servers_once_in_order(topology):
    server_a, server_b = topology.webs
    label = create_room(server_a.url)
    members = [
        await connect(server.ws_url, label) for server in (server_a, server_a, server_b, server_b)
    ]
    sender = members[0]
    texts = [f"m{i}" for i in range(40)]
    for text in texts:
        await send_chat(sender, "alice", text)
    received = await asyncio.gather(*(recv_messages(m, len(texts)) for m in members))
    for frames in received:
        assert [f["message"] for f in frames] == texts
        assert [f["id"] for f in frames] == list(range(1, len(texts) + 1))
        assert all(f["handle"] == "alice" and f["timestamp"] for f in frames)
    for server in (server_a, server_b):
        page = visit_room(server.url, label)
        config = page.split('id="parley-config" type="application/json">')[1].split("<")[0]
        assert json.loads(config)["lastId"] == len(texts)
        assert page.index(">m0<") < page.index(">m39<")
    for member in members:
        await member.close()
