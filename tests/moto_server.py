"""A moto server in its own process on a free 127.0.0.1 port, for tests where real clients race.

`python tests/moto_server.py [--parallel]` prints its port on the first line of stdout, then serves.

By default every request is handled under one lock. DynamoDB applies each request atomically
(a TransactWriteItems is all-or-nothing and serializable against other requests), but moto's
server does not: it handles requests on threads without a lock, checks a transaction's conditions
and applies its writes in separate steps, and rolls a failed transaction back by restoring a copy of
the whole table, which can undo another request's committed write. `benchmarks/moto_atomicity.py`
measures that. Serializing requests gives each one the atomicity DynamoDB promises while the clients
(threads or processes) still interleave freely between requests, which is where the commands' races are.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def serve(parallel: bool) -> None:
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    app: Any = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def serial(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        with lock:
            return [b"".join(app(environ, start_response))]

    server = make_server(
        "127.0.0.1", 0, app if parallel else serial, threaded=True, request_handler=MotoRequestHandler
    )
    print(server.server_port, flush=True)
    server.serve_forever()


@contextlib.contextmanager
def moto_server(*, parallel: bool = False) -> Iterator[str]:
    """Start the server, yield its endpoint URL, stop it (this process only)."""
    argv = [sys.executable, str(Path(__file__).resolve()), *(["--parallel"] if parallel else [])]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        assert proc.stdout is not None
        port = proc.stdout.readline().strip()
        if not port.isdigit():
            raise RuntimeError(f"the moto server did not start (said {port!r})")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    serve(parallel="--parallel" in sys.argv[1:])
