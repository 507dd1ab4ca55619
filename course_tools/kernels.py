"""Kernels reached over ZMQ ipc sockets (unix sockets in a private folder) instead of TCP ports.

No port is open to other users of the machine, and ipykernel prints no "Kernel is running over TCP without
encryption" warning into every executed notebook's output.  ``course run`` (papermill) uses
:class:`IpcKernelManager`; the autograder's sandboxed kernels build on it.
"""

from __future__ import annotations

import os
import shutil
import tempfile

from jupyter_client.manager import AsyncKernelManager, KernelManager
from jupyter_core.utils import run_sync
from traitlets import default


class IpcKernelManager(KernelManager):
    """A KernelManager whose kernel listens on ipc sockets in a private temporary folder (removed at the end)."""

    _ipc_dir: str | None = None

    @default("transport")
    def _default_transport(self) -> str:
        return "ipc"

    def ensure_ipc_dir(self) -> str:
        """The private folder of the sockets and connection file (made on the first start; a restart keeps it)."""
        if self._ipc_dir is None:
            self._ipc_dir = tempfile.mkdtemp(prefix="kernel-ipc-")
            self.transport = "ipc"
            self.connection_file = os.path.join(self._ipc_dir, "kernel.json")
            self.ip = os.path.join(self._ipc_dir, "ipc")
        return self._ipc_dir

    async def _async_pre_start_kernel(self, **kw):
        self.ensure_ipc_dir()
        return await super()._async_pre_start_kernel(**kw)

    pre_start_kernel = run_sync(_async_pre_start_kernel)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart and self._ipc_dir:
            shutil.rmtree(self._ipc_dir, ignore_errors=True)
            self._ipc_dir = None

    cleanup_resources = run_sync(_async_cleanup_resources)


class AsyncIpcKernelManager(IpcKernelManager, AsyncKernelManager):
    """:class:`IpcKernelManager` with the asynchronous API that nbclient (papermill, nbgrader) drives: its
    client never blocks the event loop, so a kernel that dies is noticed within a second."""

    pre_start_kernel = IpcKernelManager._async_pre_start_kernel
    cleanup_resources = IpcKernelManager._async_cleanup_resources
