"""Sending to websocket groups from synchronous code (services, listeners, tasks)."""

import asyncio
import threading

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer


def group_send(group: str, message: dict) -> None:
    """Send `message` to every socket in `group`; nothing when no channel layer is set up.

    From a thread that runs an event loop of its own (a test driving a browser, a script
    inside an async framework) async_to_sync cannot block, so the send runs in a helper
    thread and is waited for."""
    layer = get_channel_layer()
    if layer is None:
        return
    send = async_to_sync(layer.group_send)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        send(group, message)
        return
    helper = threading.Thread(target=send, args=(group, message))
    helper.start()
    helper.join()
