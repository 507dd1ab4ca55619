"""What the course's metric scripts share (imported by ``accuracy``, ``f1`` and ``glue``).

evaluate copies each script into its modules cache and imports it from there, so the scripts import this
module by its package name, ``course.metrics.common``: evaluate checks that such an import resolves (the
``course`` package is installed with the kit).
"""

import os

import datasets


def no_predictions_error(name):
    return ValueError(
        f"{name} got no predictions: pass at least one prediction and reference, with "
        "compute(predictions=..., references=...) or add()/add_batch() before compute()"
    )


def checked_compute(module, parent_compute, predictions, references, kwargs):
    """Run evaluate's ``compute`` with a clear error when nothing was added, and no cache files left behind.

    evaluate 0.4 says "Evaluation module cache file doesn't exist" when compute() is called with nothing
    added; and when ``_compute`` raises (bad labels, empty input) it leaves the cache file and its lock held,
    so the next compute() of that object waits 1 s for the lock and writes another file. Both are fixed here.
    """
    name = module.name if module.config_name == "default" else f"{module.name} ({module.config_name})"
    nothing_added = getattr(module, "writer", True) is None  # single-process only: in distributed runs
    if predictions is None and references is None and module.num_process == 1 and nothing_added:
        raise no_predictions_error(name)
    module.file_paths = None  # set again by evaluate once the cache files are locked for reading
    try:
        return parent_compute(predictions=predictions, references=references, **kwargs)
    except BaseException:
        paths, locks = getattr(module, "file_paths", None), getattr(module, "filelocks", None)
        if paths and locks and module.process_id == 0 and not module.keep_in_memory:
            module.data = None
            for lock, path in reversed(list(zip(locks, paths))):
                try:
                    os.remove(path)
                except OSError:
                    pass
                lock.release()
            module.file_paths = module.filelocks = None
        raise


def label_features(config_name: str) -> dict:
    """``features`` and ``format`` of a classification metric: int labels, or rows of them for "multilabel".

    evaluate allows its fast numpy format only for flat (non-Sequence) features.
    """
    if config_name == "multilabel":
        label = datasets.Sequence(datasets.Value("int32"))
        return {"features": datasets.Features({"predictions": label, "references": label}), "format": None}
    label = datasets.Value("int32")
    return {"features": datasets.Features({"predictions": label, "references": label}), "format": "numpy"}
