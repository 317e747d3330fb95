"""An OpenAI-compatible upstream that answers at once: the model of the gateway benchmark.

    python bench/instant_upstream.py --port PORT

asyncio on raw sockets (HTTP/1.1 keep-alive, no framework), so that it costs far less per
request than either gateway under test. `POST .../chat/completions` answers a fixed
completion, or with `"stream": true` a short SSE stream; anything else is a 404. With
`--delay-ms` each answer waits that long first (the eval benchmark's upstream). Runs in any
Python (no imports from steerwise or a peer).
"""

from __future__ import annotations

import argparse
import asyncio
import json

TEXT = "Refunds take five working days once the bike is back with us."
USAGE = {"prompt_tokens": 20, "completion_tokens": 13, "total_tokens": 33}


def _completion(model: str) -> bytes:
    return json.dumps(
        {
            "id": "chatcmpl-instant",
            "object": "chat.completion",
            "created": 0,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": TEXT},
                    "finish_reason": "stop",
                }
            ],
            "usage": USAGE,
        }
    ).encode()


def _stream(model: str) -> bytes:
    base = {"id": "chatcmpl-instant", "object": "chat.completion.chunk", "created": 0}
    base["model"] = model
    events = [{"role": "assistant", "content": ""}]
    events += [{"content": word + " "} for word in TEXT.split(" ")]
    chunks = [
        {**base, "choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in events
    ]
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    chunks.append({**base, "choices": [], "usage": USAGE})
    body = "".join(f"data: {json.dumps(chunk)}\n\n" for chunk in chunks) + "data: [DONE]\n\n"
    return body.encode()


def _response(status: str, content_type: str, body: bytes) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
    )
    return head.encode() + body


async def _serve(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay_s: float = 0.0
) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1]
            headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
            length = int(headers.get("Content-Length") or headers.get("content-length") or 0)
            body = json.loads(await reader.readexactly(length)) if length else {}
            if delay_s and path.endswith("/chat/completions"):
                await asyncio.sleep(delay_s)
            if not path.endswith("/chat/completions"):
                writer.write(_response("404 Not Found", "application/json", b"{}"))
            elif body.get("stream"):
                writer.write(_response("200 OK", "text/event-stream", _stream(body["model"])))
            else:
                writer.write(_response("200 OK", "application/json", _completion(body["model"])))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def _main(port: int, delay_s: float) -> None:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _serve(reader, writer, delay_s)

    server = await asyncio.start_server(serve, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay-ms", type=float, default=0.0, help="wait before each answer")
    arguments = parser.parse_args()
    asyncio.run(_main(arguments.port, arguments.delay_ms / 1000))
