"""What hidden tests use to look at a student's work: ``student.value(...)``, ``student.run(...)``.

A hidden test (the part of a test cell between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``) is a
*judge*: it asks the student's namespace for plain data and decides with its own, trusted objects::

    from course.grading import student

    got = student.value("compute_metrics((logits, labels))", logits=my_logits, labels=my_labels)
    assert abs(got["accuracy"] - accuracy_score(my_labels, my_logits.argmax(-1))) < 1e-9, "..."

When a notebook simply runs (JupyterLab, ``course run``), ``student`` looks into the notebook's own namespace.
When the autograder grades a submission, the judge runs in the grader's process, outside the sandboxed kernel,
and ``student`` sends each question to the kernel and gets back *data only*: numbers, strings, lists, dicts,
tuples and arrays of a checked dtype, decoded here into fresh built-in objects. A student's object never reaches
the judge, so no ``__eq__`` trick, patched helper or rewritten test can make a check pass; the kernel can only
answer the questions, and to answer them right it has to compute the right values.

The judges themselves are code in the course's ``judges/`` folder (``judges/NN_topic.py``, one function per test,
never released); a hidden test is one call, ``judge("NN_topic", "test_x", run)`` (:func:`judge`). A judge decides
only from values it computes itself from plain data it asked for (autograder/README.md, *The judges' rule*).
"""

from __future__ import annotations

import ast
import base64
import builtins
import functools
import importlib
import importlib.util
import json
import math
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from course.text import first_line

MIME = "application/vnd.course.probe+json"
MAX_DEPTH = 32
_DTYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
           "float16", "float32", "float64"}


class StudentError(AssertionError):
    """The student's code raised, or answered with something that is not plain data."""

    def __init__(self, message: str, ename: str = "", evalue: str = ""):
        super().__init__(message)
        self.ename, self.evalue = ename, evalue


@dataclass(frozen=True)
class Opaque:
    """Stands for a value that is not plain data (a model, a Trainer, a function): its type and a short repr."""

    type_name: str
    text: str

    def __repr__(self) -> str:
        return f"<{self.type_name}: {self.text}>"


# --------------------------------------------------------------------------------------------- encoding
def to_plain(obj, depth: int = 0):
    """Encode ``obj`` as JSON-able data (runs where the student's objects live)."""
    if depth > MAX_DEPTH:
        raise ValueError("value nested too deeply")
    t = type(obj)
    if obj is None or t in (bool, str):
        return obj
    if t is int:
        return obj if abs(obj) < 2**53 else {"__int__": str(obj)}
    if t is float:
        return obj if math.isfinite(obj) else {"__float__": repr(obj)}
    if t is tuple:
        return {"__tuple__": [to_plain(x, depth + 1) for x in obj]}
    if t is list:
        return [to_plain(x, depth + 1) for x in obj]
    if t in (set, frozenset):
        return {"__set__": [to_plain(x, depth + 1) for x in obj]}
    array = _as_array(obj)
    if array is not None:
        return array
    if isinstance(obj, dict) or (hasattr(obj, "keys") and hasattr(obj, "__getitem__") and not isinstance(obj, type)):
        items = [(k, obj[k]) for k in list(obj.keys())]
        if all(type(k) is str and not k.startswith("__") for k, _ in items):
            return {k: to_plain(v, depth + 1) for k, v in items}
        return {"__dict__": [[to_plain(k, depth + 1), to_plain(v, depth + 1)] for k, v in items]}
    if isinstance(obj, (list, tuple)):  # subclasses (NamedTuple, ...) as their plain counterpart
        return to_plain(list(obj) if isinstance(obj, list) else tuple(obj), depth)
    return {"__opaque__": [t.__module__ + "." + t.__qualname__, repr(obj)[:200]]}


def _as_array(obj):
    """numpy arrays and scalars, torch tensors (as numpy), or None."""
    module = type(obj).__module__.split(".")[0]
    if module == "torch":
        import torch

        if isinstance(obj, torch.Tensor):
            tensor = obj.detach().cpu()
            if tensor.dtype == torch.bfloat16:
                tensor = tensor.float()
            return dict(_encode_ndarray(tensor.numpy()), torch=True)
        return None
    if module != "numpy":
        return None
    import numpy as np

    if isinstance(obj, np.ndarray):
        return _encode_ndarray(obj)
    if isinstance(obj, np.generic) and obj.dtype.name in _DTYPES:
        return {"__np__": obj.dtype.name, "v": obj.item() if math.isfinite(float(obj)) else repr(obj.item())}
    return None


def _encode_ndarray(a) -> dict:
    import numpy as np

    if a.dtype.name not in _DTYPES:
        raise ValueError(f"arrays of dtype {a.dtype} cannot be compared")
    return {"__nd__": a.dtype.name, "shape": list(a.shape),
            "b64": base64.b64encode(np.ascontiguousarray(a).tobytes()).decode()}


def from_plain(data, depth: int = 0):
    """Decode what :func:`to_plain` produced into fresh built-in objects (runs in the judge: trusts nothing)."""
    if depth > MAX_DEPTH:
        raise StudentError("the answer is nested too deeply")
    t = type(data)
    if data is None or t in (bool, int, float, str):
        return data
    if t is list:
        return [from_plain(x, depth + 1) for x in data]
    if t is not dict:
        raise StudentError(f"the answer holds a {t.__name__}, which is not plain data")
    if "__tuple__" in data:
        return tuple(from_plain(x, depth + 1) for x in _list(data["__tuple__"]))
    if "__set__" in data:
        return set(_hashable(from_plain(x, depth + 1)) for x in _list(data["__set__"]))
    if "__dict__" in data:
        out = {}
        for pair in _list(data["__dict__"]):
            if type(pair) is not list or len(pair) != 2:
                raise StudentError("malformed mapping in the answer")
            out[_hashable(from_plain(pair[0], depth + 1))] = from_plain(pair[1], depth + 1)
        return out
    if "__nd__" in data:
        return _decode_ndarray(data)
    if "__np__" in data:
        import numpy as np

        dtype, value = data["__np__"], data.get("v")
        if dtype not in _DTYPES or type(value) not in (bool, int, float, str):
            raise StudentError("malformed numpy scalar in the answer")
        return np.dtype(dtype).type(float(value) if type(value) is str else value)
    if "__int__" in data:
        return int(_str(data["__int__"]))
    if "__float__" in data:
        return float(_str(data["__float__"]))
    if "__opaque__" in data:
        pair = _list(data["__opaque__"])
        return Opaque(_str(pair[0])[:200], _str(pair[1])[:200]) if len(pair) == 2 else Opaque("?", "?")
    return {_str(k): from_plain(v, depth + 1) for k, v in data.items()}


def _decode_ndarray(data: dict):
    import numpy as np

    dtype, shape, raw = data.get("__nd__"), data.get("shape"), data.get("b64")
    if dtype not in _DTYPES or type(shape) is not list or not all(type(n) is int and n >= 0 for n in shape):
        raise StudentError("malformed array in the answer")
    try:
        buf = base64.b64decode(_str(raw), validate=True)
        array = np.frombuffer(buf, dtype=np.dtype(dtype)).reshape(shape).copy()
    except (ValueError, TypeError) as e:
        raise StudentError(f"malformed array in the answer ({e})") from None
    if data.get("torch") is True:
        import torch

        return torch.from_numpy(array)
    return array


def _list(x) -> list:
    if type(x) is not list:
        raise StudentError("malformed answer")
    return x


def _str(x) -> str:
    if type(x) is not str:
        raise StudentError("malformed answer")
    return x


def _hashable(x):
    try:
        hash(x)
    except TypeError:
        raise StudentError("unhashable value in a set or mapping key") from None
    return x


def roundtrip(value):
    """What a judge receives for ``value``: encoded, sent as JSON, decoded."""
    return from_plain(json.loads(json.dumps(to_plain(value))))


# --------------------------------------------------------------------------------------------- backends
def _user_namespace() -> dict:
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:  # pragma: no cover - the course always has IPython
        shell = None
    return shell.user_ns if shell is not None else sys.modules["__main__"].__dict__


def names_in(code: str, inputs=()) -> str:
    """How a reason names a question: the student's names it reads (``tokenize_function, raw_datasets``), never
    the question's code, which belongs to the hidden tests. Builtins, the question's own inputs, names it binds
    itself and private names (``_judge_...``) are left out; "your code" when nothing is left."""
    try:
        tree = ast.parse(code.strip() or "None")
    except SyntaxError:
        return "your code"
    bound = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
    bound |= {a.arg for n in ast.walk(tree) if isinstance(n, ast.arguments) for a in n.args + n.kwonlyargs}
    bound |= {(a.asname or a.name).split(".")[0] for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
              for a in n.names}
    seen = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            name = node.id
            if (name not in seen and name not in bound and name not in inputs and not name.startswith("_")
                    and not hasattr(builtins, name)):
                seen.append(name)
    return ", ".join(f"`{n}`" for n in seen[:4]) or "your code"


def _describe(code: str, e: BaseException, inputs=()) -> StudentError:
    text = first_line(e)
    return StudentError(f"{names_in(code, inputs)} raised {type(e).__name__}" + (f": {text}" if text else ""),
                        type(e).__name__, text)


class LocalBackend:
    """The notebook's own namespace (a notebook that simply runs; the same data round trip as grading), or the
    namespace given (a judge unit-tested without a kernel)."""

    def __init__(self, namespace: dict | None = None, answers: dict[str, str] | None = None):
        self.namespace = namespace
        self.answers = dict(answers or {})  # answer cell -> its source, for judges that run an answer again

    def _ns(self) -> dict:
        return self.namespace if self.namespace is not None else _user_namespace()

    def value(self, expr: str, inputs: dict):
        ns = dict(self._ns())
        ns.update({k: roundtrip(v) for k, v in inputs.items()})
        try:
            result = eval(expr, ns)  # noqa: S307 - the notebook's own code, in its own kernel
        except Exception as e:  # noqa: BLE001 - becomes the test's reason
            raise _describe(expr, e, inputs) from None
        try:
            return roundtrip(result)
        except ValueError as e:
            raise StudentError(f"{names_in(expr, inputs)} gave a value that cannot be checked: {e}") from None

    def run(self, code: str, inputs: dict) -> None:
        ns = self._ns()
        ns.update({k: roundtrip(v) for k, v in inputs.items()})
        try:
            exec(code, ns)  # noqa: S102
        except Exception as e:  # noqa: BLE001
            raise _describe(code, e, inputs) from None

    def rerun(self, sources: list[str] | None, values: str, inputs: dict, prelude: str, run_changes: dict):
        if sources is None:
            return None
        request = {"sources": sources, "values": values, "prelude": prelude, "run": run_changes}
        try:
            return roundtrip(_rerun(request, {k: roundtrip(v) for k, v in inputs.items()}, self._ns()))
        except StudentError:
            raise
        except Exception as e:  # noqa: BLE001
            raise _describe("\n".join(sources), e, inputs) from None

    def answer_sources(self, cell: str, since: str | None) -> list[str] | None:
        """The notebook's own cells are not known to its kernel: a judge running in the notebook skips what needs
        them (the grader has them). Answers given to the backend (tests) are run alone."""
        return [self.answers[cell]] if cell in self.answers else None

    def scratch(self) -> tuple[str, str]:
        folder = tempfile.mkdtemp(prefix="judge-scratch-")
        return folder, folder

    def tensors(self, expr: str) -> dict:
        state = self.value_raw(expr)
        return {str(k): v.detach().cpu().clone() for k, v in state.items()}

    def value_raw(self, expr: str):
        try:
            return eval(expr, dict(self._ns()))  # noqa: S307
        except Exception as e:  # noqa: BLE001
            raise _describe(expr, e) from None


_backend = LocalBackend()


def use_backend(backend):
    """Make ``student`` ask ``backend`` (the grader's remote kernel); returns the previous backend."""
    global _backend
    previous, _backend = _backend, backend
    return previous


class Student:
    """The student's work, as hidden tests see it (see the module docstring)."""

    def value(self, expr: str, /, **inputs):
        """The value of ``expr`` in the student's namespace, with ``inputs`` bound, as plain data."""
        return _backend.value(expr, inputs)

    def run(self, code: str, /, **inputs) -> None:
        """Execute statements in the student's namespace (to build objects that later ``value`` calls use)."""
        _backend.run(code, inputs)

    def tensors(self, expr: str) -> dict:
        """A mapping of names to tensors (for example ``model.state_dict()``) as fresh CPU tensors."""
        return _backend.tensors(expr)

    def defines(self, name: str) -> bool:
        """Whether the student's namespace has ``name``."""
        return bool(self.value(f"{name!r} in globals()"))

    def rerun(self, cell: str, values: str, /, *, prelude: str = "", run_changes: dict | None = None,
              since: str | None = None, **inputs):
        """Run the student's answer cell ``cell`` again, in a copy of their namespace with ``inputs`` bound (and
        ``prelude`` run first; ``run_changes`` replace fields of ``run``: ``profile="cpu"`` gives another profile's
        sizes), and return the value of ``values`` there: the same code judged on inputs the judge chose, or at
        another profile's size. ``since="run"`` runs every code cell from the one after the cell that binds ``run``
        up to the answer (test cells excepted), so that what those cells derive from ``run`` changes with it. The
        student's namespace itself is left as it was. None where the notebook's cells are not known (a notebook
        that runs itself: only the grader has the submitted cells)."""
        return _backend.rerun(_backend.answer_sources(cell, since), values, inputs, prelude, dict(run_changes or {}))

    def scratch(self) -> tuple[str, str]:
        """A folder the judge writes (files the student's code then reads, such as a checkpoint of the judge's):
        (its path here, its path in the student's kernel)."""
        return _backend.scratch()

    def path(self, path: str) -> str:
        """A file of the judge's (the checkpoint, the data mirror) by the path the student's kernel sees it at."""
        translate = getattr(_backend, "kernel_path", None)
        return translate(path) if translate is not None else path


student = Student()


def check_hyperparameters(expr: str, run, shown: str | None = None) -> None:
    """The ``TrainingArguments`` at ``expr`` (in the student's namespace; named ``shown`` in the reason, by default
    ``expr``) carry the parameters cell's hyperparameters, which grading sets to ``run``'s profile: the student passed
    the parameters on, instead of typing values of their own or leaving the library's defaults."""
    from course.profiles import HYPERPARAMETERS, notebook_parameters

    want = notebook_parameters(run.profile)
    got = student.value(f"{{k: getattr({expr}, k, None) for k in {HYPERPARAMETERS!r}}}")
    for name in HYPERPARAMETERS:
        assert isinstance(got, dict) and got.get(name) == want[name], (
            f"{shown or expr}.{name} is {got.get(name)!r}: pass the parameter on, TrainingArguments(..., "
            f"{name}={name}) (grading sets it to {want[name]!r})")


def check_answer(name: str, expected, explanation: str, tolerance: float = 0.0) -> None:
    """Judge a quiz answer: the student's variable ``name`` against ``expected``; ``explanation`` is the reason
    the student reads when it is wrong (why the right answer is right).

    A letter (``"b"``) matches whatever the case and surrounding blanks; a number matches a number (not a bool,
    not a string) within ``tolerance``; a tuple matches a tuple or list of the same numbers."""
    import numbers

    if isinstance(expected, str):
        got = student.value(f"{name}.strip().lower() if isinstance({name}, str) else {name}")
        right = got == expected.lower()
    elif isinstance(expected, tuple):
        got = student.value(name)
        right = (isinstance(got, (tuple, list)) and len(got) == len(expected)
                 and all(isinstance(g, numbers.Real) and not isinstance(g, bool) and g == e
                         for g, e in zip(got, expected)))
    else:
        got = student.value(name)
        right = (isinstance(got, numbers.Real) and not isinstance(got, bool)
                 and math.isclose(float(got), float(expected), rel_tol=0.0, abs_tol=tolerance))
    assert right, f"{name}: {explanation}"


# --------------------------------------------------------------------------------------------- the judges
JUDGES_ENV = "JUDGES_DIR"  # not COURSE_*: that prefix passes into the sandboxes, and this path names the course root
_judges_dir: str | None = None


def use_judges(path: str | os.PathLike | None) -> str | None:
    """Make :func:`judge` load the judges of ``path`` (the grader sets the course's ``judges/``); returns the
    previous setting."""
    global _judges_dir
    previous, _judges_dir = _judges_dir, (str(path) if path else None)
    return previous


def judges_dir() -> Path:
    """The folder of the judges: the one the grader set, else ``$JUDGES_DIR``, else ``judges/`` beside the
    ``course`` package (a notebook that runs itself in the course's repository)."""
    for candidate in (_judges_dir, os.environ.get(JUDGES_ENV)):
        if candidate:
            return Path(candidate)
    here = Path(__file__).resolve().parents[1] / "judges"
    if (here / "__init__.py").is_file():
        return here
    raise StudentError(f"no judges here: the hidden tests run in the grader (set ${JUDGES_ENV} to the course's "
                       "judges/ folder to run them in a notebook)")


def judges_module(assignment: str):
    """The judges of ``assignment`` (``judges/<assignment>.py``, imported as ``judges.<assignment>`` from
    :func:`judges_dir`, whatever else is called ``judges``)."""
    folder = judges_dir().resolve()
    package = sys.modules.get("judges")
    if package is None or [str(Path(p).resolve()) for p in getattr(package, "__path__", [])] != [str(folder)]:
        for name in [n for n in sys.modules if n == "judges" or n.startswith("judges.")]:
            del sys.modules[name]
        spec = importlib.util.spec_from_file_location("judges", folder / "__init__.py",
                                                      submodule_search_locations=[str(folder)])
        if spec is None or not (folder / "__init__.py").is_file():
            raise StudentError(f"no judges in {folder} (an instructor error)")
        package = importlib.util.module_from_spec(spec)
        sys.modules["judges"] = package
        spec.loader.exec_module(package)
    return importlib.import_module(f"judges.{assignment}")


def judge(assignment: str, test: str, run) -> None:
    """Decide test ``test`` of ``assignment``: what a hidden test cell holds, in one line. Raises AssertionError
    (the reason the student reads) when the work is not right."""
    function = getattr(judges_module(assignment), test, None)
    if function is None:
        raise AssertionError(f"no judge for {test} (an instructor error): scored 0")
    function(run)


# --------------------------------------------------------------------------------------------- references
@functools.cache
def reference_tokenizer(checkpoint: str):
    """A tokenizer loaded here from ``checkpoint`` (never the student's), loaded once per process."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(checkpoint)


@functools.cache
def reference_dataset(path: str, config: str | None = None):
    """A ``DatasetDict`` loaded here (never the student's), once per process, into memory: a grading worker forked
    from a zygote that loaded it needs none of the zygote's cache files (its sandbox does not see them)."""
    from datasets import load_dataset

    return load_dataset(path, config, keep_in_memory=True)


# --------------------------------------------------------------------------------------------- kernel side
def _rerun(req: dict, inputs: dict, namespace: dict | None = None):
    """Run an answer cell's source again in a copy of the namespace (see :meth:`Student.rerun`); the value of
    ``req["values"]`` there."""
    import dataclasses

    shell = None
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:  # pragma: no cover
        pass
    scope = dict(_user_namespace() if namespace is None else namespace)
    scope.update(inputs)
    changes = dict(req.get("run") or {})
    if changes:
        from course.profiles import get_profile

        if "profile" in changes:
            changes["profile"] = get_profile(changes["profile"])
        scope["run"] = dataclasses.replace(scope["run"], **changes)
    if req.get("prelude"):
        exec(compile(req["prelude"], "<judge's inputs>", "exec"), scope)  # noqa: S102
    for source in req["sources"]:
        code = shell.transform_cell(source) if shell is not None else source
        exec(compile(code, "<your answer, run again>", "exec"), scope)  # noqa: S102
    return eval(req["values"], scope)  # noqa: S307


def _probe(request: str) -> None:
    """Answer one question of a remote judge (runs in the student's kernel; its answer is not trusted)."""
    from IPython.display import display

    try:
        req = json.loads(request)
        op, code = req["op"], req["code"]
        inputs = {k: from_plain(v) for k, v in req.get("inputs", {}).items()}
        ns = _user_namespace()
        if op == "value":
            scope = dict(ns)
            scope.update(inputs)
            value = to_plain(eval(code, scope))  # noqa: S307
        elif op == "run":
            ns.update(inputs)
            exec(code, ns)  # noqa: S102
            value = None
        elif op == "rerun":
            value = to_plain(_rerun(req, inputs))
        elif op == "tensors":
            from safetensors.torch import save_file

            state = eval(code, dict(ns))  # noqa: S307
            save_file({str(k): v.detach().cpu().contiguous().clone() for k, v in state.items()}, req["path"])
            value = None
        else:
            raise ValueError(f"unknown question {op!r}")
        reply = {"ok": True, "value": value}
    except Exception as e:  # noqa: BLE001 - the judge turns this into the test's reason
        text = first_line(e)
        reply = {"ok": False, "ename": type(e).__name__, "evalue": text}
    display({MIME: reply}, raw=True)
