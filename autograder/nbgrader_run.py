"""Running nbgrader converters in-process with a private logger and an explicit configuration.

The converters (``GenerateAssignment``, ``Autograde``, ``GenerateFeedback``) are used directly rather
than the ``nbgrader`` apps, so no config file from the current directory or ~/.jupyter is picked up
and nothing (``.nbgrader.log``) is written outside the directories we pass in.
"""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path

from traitlets.config import Config

_counter = 0


class NbgraderFailed(RuntimeError):
    def __init__(self, message: str, log: str):
        super().__init__(message)
        self.log = log


def private_logger(stream: io.StringIO, level=logging.INFO) -> logging.Logger:
    global _counter
    _counter += 1
    logger = logging.getLogger(f"autograder.nbgrader.{os.getpid()}.{_counter}")
    logger.handlers[:] = []
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("[%(levelname)s] %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    return logger


def course_config(base: Config, root: str | os.PathLike, **coursedir) -> Config:
    """Copy of ``base`` with the CourseDirectory pointing at ``root`` (and its own gradebook)."""
    cfg = Config()
    cfg.merge(base)
    cfg.CourseDirectory.root = str(Path(root).resolve())
    cfg.CourseDirectory.db_url = "sqlite:///" + str(Path(root).resolve() / "gradebook.db")
    for key, value in coursedir.items():
        setattr(cfg.CourseDirectory, key, value)
    return cfg


def run_converter(converter_cls, cfg: Config, *, log_level=logging.INFO, **traits) -> str:
    """Run one nbgrader converter; return its log.  Raises NbgraderFailed (with the log) on failure."""
    from nbgrader.coursedir import CourseDirectory  # seconds to import: not on `import autograder`

    stream = io.StringIO()
    logger = private_logger(stream, log_level)
    coursedir = CourseDirectory(config=cfg, log=logger)
    converter = converter_cls(coursedir=coursedir, config=cfg, log=logger, **traits)
    try:
        converter.start()
    except BaseException as e:
        if isinstance(e, KeyboardInterrupt):
            raise
        raise NbgraderFailed(f"{converter_cls.__name__} failed: {type(e).__name__}: {e}", stream.getvalue()) from e
    finally:
        for h in logger.handlers:
            h.flush()
    return stream.getvalue()
