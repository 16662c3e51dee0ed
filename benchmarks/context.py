"""What every benchmark gets: the scale, the seed, the run's fixtures and a server on demand."""

from collections.abc import Callable
from dataclasses import dataclass

from benchmarks.fixtures import Fixtures, fixtures_next_round
from benchmarks.progress import say
from benchmarks.scales import Scale
from benchmarks.server import Server


@dataclass
class Context:
    scale: Scale
    seed: int
    data: Fixtures
    # Builds a (not yet started) gunicorn; None where no subprocess may run (the pytest smoke test).
    server_factory: Callable[[], Server] | None = None
    repeat: int = 1  # rounds of each benchmark (``--repeat``); the runner reports their median
    _server: Server | None = None

    def next_round(self) -> None:
        """Before a benchmark's next round: a fresh run id (new order ids) and, when the
        last round used them up, fresh newcomers."""
        self.data = fixtures_next_round(self.data)

    def server(self) -> Server:
        """gunicorn on loopback, started by the first benchmark that asks and shared after."""
        if self._server is None:
            if self.server_factory is None:
                raise RuntimeError("this run has no HTTP server")
            say("  starting gunicorn on 127.0.0.1 ...")
            self._server = self.server_factory().start()
            say(f"  gunicorn answering on 127.0.0.1:{self._server.port} (2 workers)")
        return self._server

    def close(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
