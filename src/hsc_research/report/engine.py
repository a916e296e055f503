"""Warm-kernel papermill engine: one kernel per worker process, reset between reports.

Starting a Jupyter kernel and importing the report libraries costs more than running a
report notebook. The engine registered as ``hsc-warm`` (papermill's ``papermill.engine``
entry point) keeps one kernel alive in each worker process, with the report libraries
imported once, and runs every report of that worker in it.

Isolation between reports: before each notebook the kernel runs
:func:`hsc_research.report.kernel_state.reset_kernel_state` through a separate client,
silently (no history, no output, no execution count):

- ``%reset -f``: the user namespace is emptied (globals a notebook set are gone);
- ``plt.close("all")``, the backend the kernel started with, ``matplotlib.rcdefaults()``
  and then the build's ``BUILD_RC``: open figures, a ``%matplotlib`` backend and changed
  rcParams are gone;
- the working folder, ``sys.path``, ``os.environ``, the warning filters and the
  warnings already shown, pandas options and numpy print and error settings go back to
  what they were when the kernel was warmed.

Modules are not re-imported: a report library holds no per-report state. The aggregate
tables are read once per kernel (:class:`hsc_research.report.context.SharedTables`), keyed
by each table's hash in ``meta.json``; every report gets frames of its own. A brand-new
kernel runs the same warm-up and reset before its first report, so a report built in a
fresh kernel and one built after others in a warm kernel see the same state (tested in
``tests/report/test_engine.py``).

A build worker starts its kernel when it starts (:func:`hsc_research.report.worker.prewarm`),
loading papermill and the HTML exporter while the kernel imports the report libraries.

Kernels run with ``MPLBACKEND=Agg`` (no screen; the inline backend would also display any
figure left open): library code never chooses a backend itself.
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import queue
import threading
import time
from collections.abc import Callable

from hsc_research.report.kernel_state import WARM_IMPORTS, _reset_code, _warm_code

#: Name of the engine in papermill's registry (``papermill.engine`` entry point).
ENGINE_NAME = "hsc-warm"

#: Environment of every report kernel, on top of the worker's.
KERNEL_ENV = {"MPLBACKEND": "Agg"}

#: Seconds to wait for the kernel's reply to the warm-up or reset code.
RESET_TIMEOUT = 120


class KernelCodeError(RuntimeError):
    """The warm-up or reset code failed inside the kernel."""


class WarmKernel:
    """A kernel kept running for many notebooks, with a client for its reset code.

    Parameters
    ----------
    kernel_name
        Kernel spec name (``python3``).
    cwd
        Working folder the kernel starts in.
    imports
        Modules imported once at start.
    """

    def __init__(
        self,
        kernel_name: str,
        cwd: str,
        imports: tuple[str, ...] = WARM_IMPORTS,
        while_warming: Callable[[], None] | None = None,
    ):
        from jupyter_client.blocking import BlockingKernelClient
        from jupyter_client.manager import AsyncKernelManager
        from jupyter_core.utils import run_sync

        self.kernel_name = kernel_name
        self._notebook_client = None
        self._client_thread: int | None = None
        self.km = AsyncKernelManager(kernel_name=kernel_name)
        env = {**os.environ, **KERNEL_ENV}
        run_sync(self.km.start_kernel)(
            extra_arguments=["--HistoryManager.hist_file=:memory:"], cwd=cwd, env=env
        )
        self.client = BlockingKernelClient()
        self.client.load_connection_info(self.km.get_connection_info())
        self.client.start_channels()
        try:
            self.client.wait_for_ready(timeout=60)
            # This client reads only replies. Subscribed to the kernel's output, it would
            # queue every message of every report (their figures included) and read them
            # all at the next reset.
            self.client.iopub_channel.close()
            msg_id = self.client.execute(
                _warm_code(imports), silent=True, store_history=False, allow_stdin=False
            )
            # The kernel imports the report libraries meanwhile (its own process).
            if while_warming is not None:
                while_warming()
            self._wait(msg_id)
        except BaseException:
            self.shutdown()
            raise

    def alive(self) -> bool:
        """Whether the kernel process is still running."""
        from jupyter_core.utils import run_sync

        return bool(run_sync(self.km.is_alive)())

    def run(self, code: str) -> None:
        """Run ``code`` silently (no history, no outputs) and wait until it is done.

        Raises
        ------
        KernelCodeError
            The code raised in the kernel (its error name and value).
        """
        self._wait(self.client.execute(code, silent=True, store_history=False, allow_stdin=False))

    def _wait(self, msg_id: str) -> None:
        """Wait for the reply to request ``msg_id``; raise if the code raised.

        Raises
        ------
        KernelCodeError
            The code raised in the kernel.
        nbclient.exceptions.DeadKernelError
            The kernel stopped, or gave no reply within :data:`RESET_TIMEOUT` seconds: the
            report is then tried again in a fresh kernel (:func:`hsc_research.report.worker.execute`).
        """
        from nbclient.exceptions import DeadKernelError

        deadline = time.monotonic() + RESET_TIMEOUT
        while True:
            try:
                # In short waits: a kernel that died is noticed within a second.
                reply = self.client.get_shell_msg(
                    timeout=min(1.0, max(deadline - time.monotonic(), 0.01))
                )
            except queue.Empty:
                if not self.alive():
                    raise DeadKernelError("the report kernel stopped") from None
                if time.monotonic() >= deadline:
                    raise DeadKernelError(
                        f"the report kernel gave no reply within {RESET_TIMEOUT} s"
                    ) from None
                continue
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        content = reply["content"]
        if content.get("status") != "ok":
            raise KernelCodeError(f"{content.get('ename')}: {content.get('evalue')}")

    def reset(self, cwd: str) -> None:
        """Empty the namespace and restore the warmed state (:func:`hsc_research.report.kernel_state.reset_kernel_state`)."""
        self.run(_reset_code(cwd))

    def notebook_client(self):
        """The client notebooks are executed through, started once for this kernel.

        nbclient would start a client per notebook, and a new client waits for the
        kernel's output channel to stay quiet for 0.2 s before it is ready.
        """
        # The client's sockets belong to the event loop of the thread that made it (a
        # dask worker may run reports in another thread): one client per thread.
        if self._notebook_client is not None and self._client_thread != threading.get_ident():
            self._notebook_client.stop_channels()
            self._notebook_client = None
        if self._notebook_client is None:
            from jupyter_core.utils import run_sync

            kc = self.km.client()
            kc.start_channels()
            try:
                run_sync(kc.wait_for_ready)(timeout=60)
            except BaseException:
                kc.stop_channels()
                raise
            kc.allow_stdin = False
            self._notebook_client, self._client_thread = kc, threading.get_ident()
        return self._notebook_client

    def shutdown(self) -> None:
        """Stop the kernel (idempotent)."""
        from jupyter_core.utils import run_sync

        for client in (self.client, self._notebook_client):
            try:
                if client is not None:
                    client.stop_channels()
            except Exception:  # noqa: BLE001 - the client may not have started
                pass
        self._notebook_client = None
        try:
            run_sync(self.km.shutdown_kernel)(now=True)
        except Exception:  # noqa: BLE001 - already dead: nothing left to stop
            pass


_lock = threading.Lock()
_kernel: WarmKernel | None = None


def warm_kernel(
    kernel_name: str, cwd: str, while_warming: Callable[[], None] | None = None
) -> WarmKernel:
    """This process's warm kernel, started (and warmed) on first use or after it died.

    ``while_warming`` (when a kernel is started) runs here while the kernel imports the
    report libraries: a worker's own imports overlap the kernel's.
    """
    global _kernel
    with _lock:
        if _kernel is not None and (_kernel.kernel_name != kernel_name or not _kernel.alive()):
            _kernel.shutdown()
            _kernel = None
        if _kernel is None:
            _kernel = WarmKernel(kernel_name, cwd, while_warming=while_warming)
            _stop_at_exit()
        return _kernel


def discard_warm_kernel() -> None:
    """Stop this process's warm kernel: the next report starts a fresh one."""
    global _kernel
    with _lock:
        if _kernel is not None:
            _kernel.shutdown()
            _kernel = None


_exit_hooked = False


def _stop_at_exit() -> None:
    # Pool workers leave through os._exit, which skips atexit but runs
    # multiprocessing's finalizers: register both.
    global _exit_hooked
    if _exit_hooked:
        return
    _exit_hooked = True
    atexit.register(discard_warm_kernel)
    from multiprocessing import util

    util.Finalize(None, discard_warm_kernel, exitpriority=10)


def register() -> None:
    """Register the engine with papermill when its entry point is not installed (a
    source checkout on ``PYTHONPATH``); an installed package registers it by itself."""
    from papermill.engines import papermill_engines
    from papermill.exceptions import PapermillException

    try:
        papermill_engines.get_engine(ENGINE_NAME)
    except PapermillException:
        papermill_engines.register(ENGINE_NAME, _engine_class())


def __getattr__(name: str):
    # The engine class subclasses papermill's Engine, and importing papermill loads the
    # entry points, this module's included: a class built at import would make
    # ``import hsc_research.report.engine`` (before papermill) a circular import. It is built
    # when first asked for instead.
    if name == "WarmKernelEngine":
        return _engine_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@functools.cache
def _engine_class() -> type:
    """``WarmKernelEngine``: the papermill engine that runs notebooks in this process's
    warm kernel."""
    from papermill.engines import Engine

    class WarmKernelEngine(Engine):
        """Papermill engine that runs notebooks in this process's warm kernel."""

        @classmethod
        def execute_managed_notebook(
            cls,
            nb_man,
            kernel_name,
            log_output=False,
            stdout_file=None,
            stderr_file=None,
            start_timeout=60,
            execution_timeout=None,
            **kwargs,
        ):
            """Reset the warm kernel, then execute ``nb_man``'s notebook in it
            (papermill has changed into the report's working folder)."""
            from papermill.clientwrap import PapermillNotebookClient
            from papermill.utils import merge_kwargs, remove_args

            kernel = warm_kernel(kernel_name, os.getcwd())
            kernel.reset(os.getcwd())
            kwargs = remove_args(["input_path"], **kwargs)
            safe_kwargs = remove_args(["timeout", "startup_timeout"], **kwargs)
            final_kwargs = merge_kwargs(
                safe_kwargs,
                timeout=execution_timeout if execution_timeout else kwargs.get("timeout"),
                startup_timeout=start_timeout,
                kernel_name=kernel_name,
                log_output=log_output,
                stdout_file=stdout_file,
                stderr_file=stderr_file,
                log=logging.getLogger("papermill"),
            )
            # Given a kernel manager and a client, nbclient leaves both running when done:
            # the kernel's own client serves every report (messages of other requests,
            # such as the reset's, are told apart by their parent message).
            client = PapermillNotebookClient(nb_man, km=kernel.km, **final_kwargs)
            client.kc = kernel.notebook_client()  # not a constructor argument
            return client.execute()

    WarmKernelEngine.__module__ = __name__
    WarmKernelEngine.__qualname__ = "WarmKernelEngine"
    return WarmKernelEngine
