"""A second, independent MCP client for the end-to-end tests: the official Python MCP SDK.

It signs in the way a desktop Python application would: dynamic client registration and the
authorization code flow with PKCE through ``mcp.client.auth.OAuthClientProvider``, the system
browser opened with :mod:`webbrowser` (which honours ``BROWSER``; the tests point it at
tests/support/open-url.mjs, a headless Chromium that clicks Allow and signs in), and a loopback
listener for the redirect. Then it lists the tools and calls one.

    .venv-tests/bin/python tests/support/python/mcp_oauth_client.py \\
        --server http://localhost:8788/mcp --tool list-todos

Prints one JSON object on stdout: the server's name, the tools, the tool result, and what the
client was granted (scope, token type; never a token). Diagnostics go to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import webbrowser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
from mcp.client import Client
from mcp.client.auth import AuthorizationCodeResult, OAuthClientProvider, TokenStorage
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata, OAuthToken


def log(message: str) -> None:
    print(f"[python-client] {message}", file=sys.stderr, flush=True)


class MemoryTokenStorage(TokenStorage):
    """Keeps the registration and the tokens for this run only."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


class LoopbackCallback:
    """The redirect URI listener (RFC 8252 §7.3): one GET with ``code`` and ``state``."""

    def __init__(self) -> None:
        self.server: asyncio.base_events.Server | None = None
        self.port = 0
        self.result: asyncio.Future[AuthorizationCodeResult] | None = None

    @property
    def redirect_uri(self) -> str:
        return f"http://localhost:{self.port}/callback"

    def expect(self) -> None:
        """Arms the listener for the next redirect (each authorization, step-ups included)."""
        self.result = asyncio.get_running_loop().create_future()

    async def start(self) -> None:
        self.expect()
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = (await reader.readline()).decode("latin-1")
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass  # headers: not needed
            target = request_line.split(" ")[1] if " " in request_line else "/"
            url = urlsplit(target)
            query = {key: values[0] for key, values in parse_qs(url.query).items()}
            if url.path != "/callback":
                body, status = "not found", "404 Not Found"
            elif "error" in query:
                body, status = f"Authorization failed: {query['error']}", "400 Bad Request"
                if self.result and not self.result.done():
                    self.result.set_exception(RuntimeError(f"authorization failed: {query}"))
            else:
                body, status = "Signed in. You can close this window.", "200 OK"
                if self.result and not self.result.done():
                    self.result.set_result(
                        # `iss` too: the SDK checks it against the metadata (RFC 9207).
                        AuthorizationCodeResult(
                            code=query.get("code", ""), state=query.get("state"), iss=query.get("iss")
                        )
                    )
            data = body.encode()
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\n"
                f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode() + data
            )
            await writer.drain()
        finally:
            writer.close()

    async def wait(self) -> AuthorizationCodeResult:
        assert self.result is not None
        return await asyncio.wait_for(self.result, timeout=90)

    def close(self) -> None:
        if self.server:
            self.server.close()


def content_to_json(result: Any) -> dict[str, Any]:
    """The parts of a CallToolResult the test checks, as plain JSON."""
    dumped = result.model_dump(mode="json", by_alias=True, exclude_none=True)
    return {
        "isError": dumped.get("isError", False),
        "content": dumped.get("content", []),
        "structuredContent": dumped.get("structuredContent"),
    }


async def run(server: str, transport: str, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    callback = LoopbackCallback()
    await callback.start()
    storage = MemoryTokenStorage()
    opened: list[str] = []

    async def open_browser(authorization_url: str) -> None:
        opened.append(authorization_url)
        callback.expect()
        parts = urlsplit(authorization_url)
        log(f"opening the browser at {parts.scheme}://{parts.netloc}{parts.path}")
        # webbrowser.open runs a BROWSER program to its end (GenericBrowser waits for it), and that
        # program waits for our loopback listener, which needs this event loop: open it off-loop.
        opener = asyncio.get_running_loop().run_in_executor(None, webbrowser.open, authorization_url)
        opener.add_done_callback(
            lambda done: done.exception() or done.result() or log("the browser program reported a failure")
        )

    oauth = OAuthClientProvider(
        server_url=server,
        client_metadata=OAuthClientMetadata(
            client_name="Python MCP SDK (test client)",
            redirect_uris=[callback.redirect_uri],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        ),
        storage=storage,
        redirect_handler=open_browser,
        callback_handler=callback.wait,
    )

    try:
        if transport == "sse":
            connection = sse_client(server, auth=oauth, timeout=30)
        else:
            http_client = httpx2.AsyncClient(auth=oauth, timeout=httpx2.Timeout(30, read=60))
            connection = streamable_http_client(server, http_client=http_client)
        async with Client(connection, mode="legacy") as client:
            tools = await client.list_tools()
            result = await client.call_tool(tool, arguments)
            info = client.server_info
            return {
                "server": info.model_dump(mode="json", exclude_none=True) if info else None,
                "protocolVersion": client.protocol_version,
                "tools": [t.name for t in tools.tools],
                "result": content_to_json(result),
                "browserOpened": len(opened),
                "clientId": storage.client_info.client_id if storage.client_info else None,
                "grant": {
                    "scope": storage.tokens.scope if storage.tokens else None,
                    "tokenType": storage.tokens.token_type if storage.tokens else None,
                    "refreshable": bool(storage.tokens and storage.tokens.refresh_token),
                },
            }
    finally:
        callback.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", default="http://localhost:8788/mcp", help="MCP endpoint URL")
    parser.add_argument("--transport", choices=["streamable-http", "sse"], default="streamable-http")
    parser.add_argument("--tool", default="list-todos")
    parser.add_argument("--arguments", default="{}", help="tool arguments as a JSON object")
    args = parser.parse_args()
    output = asyncio.run(run(args.server, args.transport, args.tool, json.loads(args.arguments)))
    print(json.dumps(output), flush=True)


if __name__ == "__main__":
    main()
