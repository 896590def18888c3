"""A scripted local server speaking the OpenAI Chat Completions and Anthropic Messages protocols.

The real provider SDKs talk HTTP to it, so tests exercise the exact bytes they send and parse.
Standard library only: benchmarks import it from plain scripts too.

    >>> import json, urllib.request
    >>> with WireServer() as server:
    ...     server.script(Reply(text="hello"))
    ...     body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    ...     request = urllib.request.Request(server.url + "/v1/chat/completions", body.encode())
    ...     with urllib.request.urlopen(request) as response:
    ...         answer = json.load(response)
    >>> answer["choices"][0]["message"]["content"]
    'hello'

Each request takes the next scripted `Reply`; with an empty script it gets a deterministic
default: when tools are offered and the last message is not a tool result, a call of the first
tool with `server.default_tool_args`, otherwise the text `"echo: <last user text>"`.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Call", "Recorded", "Reply", "WireServer"]


@dataclass(frozen=True)
class Call:
    """A tool call the scripted model makes."""

    name: str
    args: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    """One scripted answer.

    `text` and `calls` make a normal answer in the requested protocol (JSON, or SSE when the
    request streams). A `status` >= 400 answers with that error instead (a provider-shaped body
    unless `body` is given). `body` alone sends those exact bytes (a dict is sent as JSON) with
    `headers`, for malformed answers. `truncate` cuts the answer half-way and drops the
    connection; `delay` waits that many seconds before answering. `drip` (streams only) sends
    the stream's events that many seconds apart and never finishes: its last piece repeats until
    the client hangs up or the server closes, like a stream that keeps arriving but never ends.
    """

    text: str = ""
    calls: Sequence[Call] = ()
    status: int = 200
    body: str | Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    truncate: bool = False
    delay: float = 0.0
    drip: float = 0.0
    usage: tuple[int, int] | None = None
    """(input, output) tokens; by default about 4 bytes per token of request and answer."""


@dataclass(frozen=True)
class Recorded:
    """A request the server received: header names lower-cased, the body parsed from JSON."""

    path: str
    headers: dict[str, str]
    body: Any


_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    529: "overloaded_error",
}


class WireServer:
    """The server; start it with `with WireServer() as server:` (or `start()` / `close()`)."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.default_tool_args: dict[str, Any] = {}
        self._script: deque[Reply] = deque()
        self._count = 0
        self._count_lock = threading.Lock()
        self._httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.wire = self
        # `close()` waits up to one poll interval for the serving loop to notice.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.01,), name="wire-server", daemon=True
        )

    @property
    def url(self) -> str:
        """`http://127.0.0.1:<port>`; OpenAI clients want `url + "/v1"`, Anthropic ones `url`."""
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def script(self, *replies: Reply) -> None:
        """Queue replies; each request consumes the next one."""
        self._script.extend(replies)

    def start(self) -> WireServer:
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving, cut open connections (and pending delays) and wait for every thread."""
        self._httpd.closing.set()
        self._httpd.shutdown()
        self._httpd.drop_connections()
        self._httpd.server_close()
        self._thread.join()

    def __enter__(self) -> WireServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _next(self, body: dict[str, Any]) -> tuple[int, Reply]:
        with self._count_lock:
            self._count += 1
            number = self._count
        try:
            return number, self._script.popleft()
        except IndexError:
            return number, self._default(body)

    def _default(self, body: dict[str, Any]) -> Reply:
        messages = body.get("messages") or [{}]
        last = messages[-1]
        content = last.get("content")
        after_tool = last.get("role") == "tool" or (
            isinstance(content, list) and any(b.get("type") == "tool_result" for b in content)
        )
        if body.get("tools") and not after_tool:
            first = body["tools"][0]
            name = first["function"]["name"] if "function" in first else first["name"]
            return Reply(calls=[Call(name, dict(self.default_tool_args))])
        user_texts = [_text(m.get("content")) for m in messages if m.get("role") == "user"]
        return Reply(text=f"echo: {user_texts[-1] if user_texts else ''}")


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    wire: WireServer

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.closing = threading.Event()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        # Keep-alive handler threads block reading the next request; `server_close` joins them.
        with self._connections_lock:
            for connection in self._connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else delayed ACKs cost ~40 ms per request
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        wire = self.server.wire
        wire.requests.append(
            Recorded(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        )
        if self.path not in ("/v1/chat/completions", "/v1/messages"):
            self._send(404, _error_body(self.path, 404, f"no route {self.path}"), {})
            return
        if not isinstance(body, dict):
            self._send(400, _error_body(self.path, 400, "the body is not a JSON object"), {})
            return
        number, reply = wire._next(body)
        if reply.delay and self.server.closing.wait(reply.delay):
            return
        headers = dict(reply.headers)
        cut_events: list[bytes] = []
        if reply.body is not None:
            raw_reply = reply.body
            payload = (raw_reply if isinstance(raw_reply, str) else json.dumps(raw_reply)).encode()
        elif reply.status >= 400:
            payload = _error_body(self.path, reply.status, f"scripted error {reply.status}")
        else:
            anthropic = self.path == "/v1/messages"
            usage = reply.usage or (len(raw) // 4, 1 + len(reply.text) // 4 + 4 * len(reply.calls))
            answer = _Answer(number, str(body.get("model", "")), reply, usage)
            if body.get("stream"):
                headers["Content-Type"] = "text/event-stream"
                events = answer.anthropic_events() if anthropic else answer.openai_events(body)
                if reply.drip:
                    self._drip(events, reply.drip)
                    return
                payload, cut_events = b"".join(events), events[: len(events) // 2]
            else:
                data = answer.anthropic_json() if anthropic else answer.openai_json()
                payload = json.dumps(data).encode()
        # A stream is cut between events, like a dropped connection; a JSON body mid-way.
        cut = (len(b"".join(cut_events)) or len(payload) // 2) if reply.truncate else None
        self._send(reply.status, payload, headers, cut)

    def _send(
        self, status: int, payload: bytes, headers: dict[str, str], cut: int | None = None
    ) -> None:
        """Send `payload`, or only its first `cut` bytes and then drop the connection."""
        self.send_response(status)
        headers.setdefault("Content-Type", "application/json")
        headers["Content-Length"] = str(len(payload))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        try:
            self.wfile.write(payload if cut is None else payload[:cut])
        except OSError:  # the client gave up (a timeout test): nothing left to tell it
            cut = 0
        if cut is not None:
            self.close_connection = True

    def _drip(self, events: list[bytes], gap: float) -> None:
        """Send the stream's events up to its last piece `gap` seconds apart, then repeat that
        piece forever; the body has no length, so the connection closes after it."""
        end = next(i for i, e in enumerate(events) if _ENDING.search(e))
        last_piece = max(i for i in range(end) if b"delta" in events[i])
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        sent = 0
        try:
            while not self.server.closing.wait(gap if sent else 0):
                self.wfile.write(events[min(sent, last_piece)])
                self.wfile.flush()
                sent += 1
        except OSError:  # the client hung up: what a dripping stream waits for
            pass


# The event that ends a stream's content: OpenAI's chunk with a finish reason, Anthropic's
# message_delta.
_ENDING = re.compile(rb'"finish_reason": "|"type": "message_delta"')


@dataclass
class _Answer:
    number: int
    model: str
    reply: Reply
    usage: tuple[int, int]

    def _call_id(self, prefix: str, index: int) -> str:
        return f"{prefix}{self.number}_{index}"

    def openai_json(self) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": self.reply.text or None}
        if self.reply.calls:
            message["tool_calls"] = [
                {
                    "id": self._call_id("call_", i),
                    "type": "function",
                    "function": {"name": c.name, "arguments": json.dumps(c.args)},
                }
                for i, c in enumerate(self.reply.calls)
            ]
        return {
            "id": f"chatcmpl-wire-{self.number}",
            "object": "chat.completion",
            "created": 0,
            "model": self.model,
            "choices": [{"index": 0, "message": message, "finish_reason": self._openai_finish()}],
            "usage": self._openai_usage(),
        }

    def _openai_finish(self) -> str:
        return "tool_calls" if self.reply.calls else "stop"

    def _openai_usage(self) -> dict[str, int]:
        prompt, completion = self.usage
        total = prompt + completion
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": total}

    def openai_events(self, body: dict[str, Any]) -> list[bytes]:
        head = {
            "id": f"chatcmpl-wire-{self.number}",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": self.model,
        }

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            choice = {"index": 0, "delta": delta, "finish_reason": finish}
            return _sse({**head, "choices": [choice]})

        events = [chunk({"role": "assistant", "content": ""})]
        events += [chunk({"content": piece}) for piece in _pieces(self.reply.text)]
        for i, call in enumerate(self.reply.calls):
            start = {"name": call.name, "arguments": ""}
            first = {"index": i, "id": self._call_id("call_", i), "type": "function"}
            events.append(chunk({"tool_calls": [{**first, "function": start}]}))
            for part in _halves(json.dumps(call.args)):
                events.append(
                    chunk({"tool_calls": [{"index": i, "function": {"arguments": part}}]})
                )
        events.append(chunk({}, self._openai_finish()))
        if (body.get("stream_options") or {}).get("include_usage"):
            events.append(_sse({**head, "choices": [], "usage": self._openai_usage()}))
        events.append(b"data: [DONE]\n\n")
        return events

    def _anthropic_blocks(self) -> list[dict[str, Any]]:
        blocks: list[dict[str, Any]] = [{"type": "text", "text": self.reply.text}]
        blocks = blocks if self.reply.text else []
        blocks += [
            {"type": "tool_use", "id": self._call_id("toolu_", i), "name": c.name, "input": c.args}
            for i, c in enumerate(self.reply.calls)
        ]
        return blocks

    def _anthropic_message(self, content: list[dict[str, Any]], done: bool) -> dict[str, Any]:
        stop = "tool_use" if self.reply.calls else "end_turn"
        return {
            "id": f"msg_wire_{self.number}",
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": content,
            "stop_reason": stop if done else None,
            "stop_sequence": None,
            "usage": {"input_tokens": self.usage[0], "output_tokens": self.usage[1] if done else 1},
        }

    def anthropic_json(self) -> dict[str, Any]:
        return self._anthropic_message(self._anthropic_blocks(), done=True)

    def anthropic_events(self) -> list[bytes]:
        message = self._anthropic_message([], done=False)
        events = [_event({"type": "message_start", "message": message}), _event({"type": "ping"})]
        for index, block in enumerate(self._anthropic_blocks()):
            start: dict[str, Any]
            if block["type"] == "text":
                start = {"type": "text", "text": ""}
                deltas = [{"type": "text_delta", "text": p} for p in _pieces(block["text"])]
            else:
                start = {**block, "input": {}}
                parts = _halves(json.dumps(block["input"]))
                deltas = [{"type": "input_json_delta", "partial_json": p} for p in parts]
            events.append(
                _event({"type": "content_block_start", "index": index, "content_block": start})
            )
            events += [
                _event({"type": "content_block_delta", "index": index, "delta": d}) for d in deltas
            ]
            events.append(_event({"type": "content_block_stop", "index": index}))
        stop = {
            "stop_reason": self._anthropic_message([], done=True)["stop_reason"],
            "stop_sequence": None,
        }
        usage = {"output_tokens": self.usage[1]}
        events.append(_event({"type": "message_delta", "delta": stop, "usage": usage}))
        events.append(_event({"type": "message_stop"}))
        return events


def _sse(data: dict[str, Any]) -> bytes:
    """An OpenAI event: data only."""
    return f"data: {json.dumps(data)}\n\n".encode()


def _event(data: dict[str, Any]) -> bytes:
    """An Anthropic event: named after its type."""
    return f"event: {data['type']}\n".encode() + _sse(data)


def _pieces(text: str) -> list[str]:
    """Word-sized pieces, as a model streams them."""
    return re.findall(r"\s*\S+\s*|\s+", text)


def _halves(text: str) -> list[str]:
    middle = len(text) // 2
    return [text[:middle], text[middle:]]


def _text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(b.get("text", "") for b in content if isinstance(b, dict))
    return str(content or "")


def _error_body(path: str, status: int, message: str) -> bytes:
    kind = _ERROR_TYPES.get(status, "api_error")
    if path == "/v1/messages":
        return json.dumps({"type": "error", "error": {"type": kind, "message": message}}).encode()
    error = {"message": message, "type": kind, "param": None, "code": None}
    return json.dumps({"error": error}).encode()
