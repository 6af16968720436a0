"""A uvicorn worker for gunicorn that drops no request when it is replaced.

Added by provision to every release. On a reload (HUP) gunicorn starts new workers and
stops the old ones. A stock uvicorn worker, told to stop, stops listening and at once
closes every connection that has no request in progress, including one it has just
accepted whose request is still on its way; nginx then answers 502. This worker first
stops accepting, then keeps serving for PROVISION_DRAIN_SECONDS (default 1), so that
such connections deliver their request, and only then shuts down as uvicorn does,
finishing every request in progress.
"""

import asyncio
import os

from uvicorn.server import Server
from uvicorn_worker import UvicornWorker


class DrainingServer(Server):
    async def shutdown(self, sockets=None):
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        await asyncio.sleep(float(os.environ.get("PROVISION_DRAIN_SECONDS", "1")))
        await super().shutdown(sockets=None)


class DrainingUvicornWorker(UvicornWorker):
    async def _serve(self):
        self.config.app = self.wsgi
        server = DrainingServer(config=self.config)
        self._install_sigquit_handler()
        await server.serve(sockets=self.sockets)
        if not server.started:
            import sys

            from gunicorn.arbiter import Arbiter

            sys.exit(Arbiter.WORKER_BOOT_ERROR)
