"""The students' JupyterLab: a Jupyter server extension and a contents manager (enabled by ``release/jupyter_config``).

* JupyterLab loads ``custom/custom.css`` (``LabApp.custom_css``) from ``$JUPYTER_CONFIG_DIR/custom`` only, the
  student's own ``~/.jupyter``. The extension serves it from the ``custom/`` folder of every folder of
  ``$JUPYTER_CONFIG_PATH`` as well, first, so the release's configuration folder can style JupyterLab (the course's
  ``custom.css`` adds to nbgrader's Validate message that hidden tests and quiz answers are graded later). It must
  load before JupyterLab reads the setting: extensions load in the order of their names, and ``course.lab`` comes
  before ``jupyterlab``.
* :class:`StudentContentsManager` serves a released notebook with the ``language_info`` the kernel will report
  (the release cannot know the student's Python version), so that the kernel's start does not change the notebook
  and it does not open marked as modified.
"""

from __future__ import annotations

import os

from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager


def _jupyter_server_extension_points():
    return [{"module": "course.lab"}]


def custom_paths() -> list[str]:
    """The ``custom`` folders of ``$JUPYTER_CONFIG_PATH`` that exist."""
    folders = [p for p in os.environ.get("JUPYTER_CONFIG_PATH", "").split(os.pathsep) if p]
    paths = [os.path.join(os.path.abspath(p), "custom") for p in folders]
    return [p for p in paths if os.path.isdir(p)]


def _load_jupyter_server_extension(serverapp) -> None:
    settings = serverapp.web_app.settings
    settings["static_custom_path"] = custom_paths() + list(settings.get("static_custom_path") or [])


def kernel_language_info() -> dict:
    """What ipykernel reports as ``language_info`` (the course's kernel is this environment's ``python3``)."""
    from ipykernel.ipkernel import IPythonKernel

    return dict(IPythonKernel.language_info)


class StudentContentsManager(AsyncLargeFileManager):
    """jupyter_server's default contents manager; a notebook of the ``python3`` kernel is served with the
    ``language_info`` that kernel will report (nothing on disk changes until the student saves)."""

    async def get(self, path, content=True, type=None, format=None, **kwargs):
        model = await super().get(path, content=content, type=type, format=format, **kwargs)
        nb = model.get("content") if model.get("type") == "notebook" else None
        if isinstance(nb, dict) and nb.get("metadata", {}).get("kernelspec", {}).get("name") == "python3":
            nb["metadata"]["language_info"] = kernel_language_info()
        return model
