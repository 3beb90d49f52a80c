"""The test double for Ollama (which cannot run here): a local HTTP server speaking its documented REST API
(/api/chat streaming and not, /api/tags, /api/show with capabilities), whose replies, delays and status a test sets."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

ENHANCED = (
    "A red fox trots across a frozen lake at dawn, its breath misting in the cold air. The camera tracks "
    "alongside at a low angle on a 50mm lens, pale pink light raking across the ice."
)
MODELS = {
    "llama3.2:3b": ["completion", "tools"],
    "llava:7b": ["completion", "vision"],
    "gemma3:4b": ["completion", "vision"],
    "qwen3:4b": ["completion", "tools", "thinking"],
}


@dataclass
class OllamaState:
    reply: str = ENHANCED
    status: int = 200
    delay_s: float = 0.0  # before answering /api/chat
    stall_after_first_chunk_s: float = 0.0
    chats: list[dict] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)


def _handler(state: OllamaState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _json(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> dict:
            return json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")

        def do_GET(self) -> None:
            if self.path != "/api/tags":
                return self._json(404, {"error": "not found"})
            models = [
                {
                    "name": name,
                    "model": name,
                    "modified_at": "2025-05-01T10:00:00.000000Z",
                    "size": 2_019_393_189,
                    "digest": "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72",
                    "details": {"format": "gguf", "family": name.split(":")[0], "parameter_size": "3.2B"},
                }
                for name in MODELS
            ]
            self._json(200, {"models": models})

        def do_POST(self) -> None:
            body = self._body()
            if self.path == "/api/show":
                if body.get("model") not in MODELS:
                    return self._json(404, {"error": f"model '{body.get('model')}' not found"})
                return self._json(
                    200,
                    {
                        "modelfile": "FROM model",
                        "parameters": "",
                        "template": "{{ .Prompt }}",
                        "details": {"format": "gguf", "parameter_size": "3.2B"},
                        "model_info": {"general.architecture": "llama"},
                        "capabilities": MODELS[body["model"]],
                        "modified_at": "2025-05-01T10:00:00.000000Z",
                    },
                )
            if self.path != "/api/chat":
                return self._json(404, {"error": "not found"})
            state.chats.append(body)
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up first
                self._chat(body)

        def _chat(self, body: dict) -> None:
            state.released.wait(state.delay_s)
            if state.status != 200:
                return self._json(state.status, {"error": "llama runner process has terminated"})
            done = {"done": True, "done_reason": "stop", "total_duration": 1_000_000, "eval_count": 42}
            base = {"model": body["model"], "created_at": "2025-05-01T10:00:01.000000Z"}
            if body.get("stream") is False:
                return self._json(200, {**base, "message": {"role": "assistant", "content": state.reply}, **done})
            self.send_response(200)
            self.send_header("Content-Type", "application/x-ndjson")
            self.end_headers()
            words = state.reply.split(" ")
            for i, word in enumerate(words):
                piece = word if i == len(words) - 1 else word + " "
                line = {**base, "message": {"role": "assistant", "content": piece}, "done": False}
                self.wfile.write(json.dumps(line).encode() + b"\n")
                self.wfile.flush()
                if i == 0:
                    state.released.wait(state.stall_after_first_chunk_s)
            self.wfile.write(json.dumps({**base, "message": {"role": "assistant", "content": ""}, **done}).encode())
            self.wfile.write(b"\n")

    return Handler


@contextlib.contextmanager
def serve(handler: type[BaseHTTPRequestHandler], state: OllamaState) -> Iterator[tuple[str, OllamaState]]:
    """Serve `handler` on a free loopback port; yields the base URL and the state the handler answers from."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        state.released.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def ollama() -> Iterator[tuple[str, OllamaState]]:
    state = OllamaState()
    with serve(_handler(state), state) as served:
        yield served


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def storyteller() -> Iterator[tuple[str, OllamaState]]:
    """A local server speaking Ollama's /api/chat that writes whichever part it is asked for (a constant reply
    would let a job repeat one prompt unnoticed)."""
    state = OllamaState()

    class Storyteller(_handler(state)):
        def _chat(self, body: dict) -> None:
            asked = re.search(r"part (\d+) of (\d+)\.$", body["messages"][-1]["content"])
            state.reply = f"The fox walks on across the cracking ice, part {asked[1]} of {asked[2]}."
            super()._chat(body)

    with serve(Storyteller, state) as served:
        yield served
