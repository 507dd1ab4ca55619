"""Tests of autograder.review: AST review of the code a student wrote or changed."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.review import Finding, review, review_paths, summarize

ACCELERATE = 'import subprocess\nsubprocess.run(["accelerate", "launch", "train.py"], check=True)'

HONEST = '''\
%matplotlib inline
import os
import warnings
from pathlib import Path

import evaluate
import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm.auto import tqdm
from transformers import AutoModelForSequenceClassification, Trainer, TrainingArguments

warnings.filterwarnings("ignore")
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
checkpoint = os.environ.get("COURSE_CHECKPOINT", "bert-base-uncased")
data_file = Path("data") / "train.csv"
if data_file.exists():
    with open(data_file) as f:
        rows = f.read().splitlines()
    with open(data_file, "r", encoding="utf-8") as f:
        header = f.readline()
metric = evaluate.load("glue", "mrpc")


def tokenize_function(example):
    return tokenizer(example["sentence1"], example["sentence2"], truncation=True)


def compute_metrics(eval_preds):
    """Accuracy and F1 of the predicted classes."""
    logits, labels = eval_preds
    predictions = np.argmax(logits, axis=-1)
    return metric.compute(predictions=predictions, references=labels)


class PairDataset(torch.utils.data.Dataset):
    def __init__(self, items):
        self.items = items

    def __len__(self):
        return len(self.items)

    def __eq__(self, other):
        return isinstance(other, PairDataset) and self.items == other.items


tokenized = raw_datasets.map(tokenize_function, batched=True)
model = AutoModelForSequenceClassification.from_pretrained(checkpoint, num_labels=2)
model.to(device)
optimizer = torch.optim.AdamW(model.parameters(), lr=5e-5)
dataloader = DataLoader(tokenized["validation"], batch_size=8, num_workers=2, collate_fn=data_collator)
model.eval()
for batch in tqdm(dataloader):
    batch = {k: v.to(device) for k, v in batch.items()}
    input_ids = batch["input_ids"]
    with torch.no_grad():
        outputs = model(**batch)
    metric.add_batch(predictions=torch.argmax(outputs.logits, dim=-1), references=batch["labels"])
args = TrainingArguments(output_dir=str(Path("outputs") / "run"), eval_strategy="epoch")
trainer = Trainer(model, args, train_dataset=tokenized["train"], compute_metrics=compute_metrics)
trainer.train()
print(f"accuracy: {metric.compute()['accuracy']:.3f} on {len(tokenized['validation'])} examples...")
'''

HOSTILE = [
    # IPython hooks, also indirect
    ("get_ipython().run_line_magic('load_ext', 'x')", "ipython-hooks"),
    ("getattr(__import__('IPython'), 'get_' + 'ipython')()", "ipython-hooks"),
    ("from IPython import get_ipython as g\ng().ast_transformers.append(t)", "ipython-hooks"),
    ("import IPython.core.getipython as gi\nshell = gi.get_ipython()", "ipython-hooks"),
    ("import sys\nsys.modules['IPython'].get_ipython()", "ipython-hooks"),
    ("__builtins__.__dict__['get_ipython']()", "ipython-hooks"),
    ("shell = globals()['__builtins__']\nshell.get_ipython().events.register('post_run_cell', f)", "ipython-hooks"),
    ("ip.input_transformers_post.append(lambda lines: lines)", "ipython-hooks"),
    ("ip.set_custom_exc((AssertionError,), handler)", "ipython-hooks"),
    ("name = 'nohtypi_teg'[::-1]\nf = globals()[name]", "ipython-hooks"),
    ("name = ''.join(['get', '_', 'ipython'])", "ipython-hooks"),
    ("import base64\nname = base64.b64decode('Z2V0X2lweXRob24=').decode()", "ipython-hooks"),
    ("from IPython.core.interactiveshell import InteractiveShell\nInteractiveShell.run_cell = f", "ipython-hooks"),
    # interpreter exits and signals
    ("import os as o\no._exit(0)", "interpreter-exit"),
    ("import sys\nsys.exit(0)", "interpreter-exit"),
    ("exit()", "interpreter-exit"),
    ("quit()", "interpreter-exit"),
    ("from os import abort\nabort()", "interpreter-exit"),
    ("raise SystemExit", "interpreter-exit"),
    ("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", "signals"),
    ("import signal\nsignal.alarm(1)", "signals"),
    # builtins
    ("import builtins\nbuiltins.len = lambda x: 3", "builtins"),
    ("__builtins__.__dict__['len'] = lambda x: 3", "builtins"),
    ("globals()['isinstance'] = lambda *a: True", "builtins"),
    ("def isinstance(*args):\n    return True", "builtins"),
    ("float = lambda x: 0.0", "builtins"),
    ("class AssertionError(Exception):\n    pass", "builtins"),
    ("from numpy import all", "builtins"),
    ("del print", "builtins"),
    ("def f():\n    global len\n    len = 3", "builtins"),
    # always-equal objects
    ("class A:\n    def __eq__(s, o): return True", "always-equal"),
    ("class A:\n    def __bool__(self):\n        return not False", "always-equal"),
    ("class A:\n    __eq__ = lambda s, o: True", "always-equal"),
    ("class A:\n    def __getattr__(self, name):\n        return self", "always-equal"),
    ("A = type('A', (), {'__eq__': lambda s, o: True})", "always-equal"),
    ("np.ndarray.__eq__ = lambda s, o: True", "always-equal"),
    # patching other modules
    ("import torch\ntorch.equal = lambda a, b: True", "monkeypatch"),
    ("import numpy as np\nnp.testing.assert_allclose = lambda *a, **k: None", "monkeypatch"),
    ("import course.checks\ncourse.checks.check_logits = lambda *a: None", "monkeypatch"),
    ("from course import checks as c\nc.check_logits = print", "monkeypatch"),
    ("import importlib as il\nil.reload = lambda m: m", "monkeypatch"),
    ("import torch\nsetattr(torch, 'equal', f)", "monkeypatch"),
    ("setattr(__import__('torch'), 'eq' + 'ual', f)", "monkeypatch"),
    ("import sys\nsys.modules['x'].y = 1", "monkeypatch"),
    ("import sys\nsys.modules['course.checks'] = fake", "monkeypatch"),
    ("import sys\nsys.excepthook = lambda *a: None", "monkeypatch"),
    # introspection
    ("import sys\nsys.settrace(tracer)", "introspection"),
    ("import inspect\nframe = inspect.currentframe().f_back", "introspection"),
    ("import sys\nsys._getframe(1).f_globals['x'] = 1", "introspection"),
    ("import gc\nfor o in gc.get_objects(): pass", "introspection"),
    ("f.__code__ = g.__code__", "introspection"),
    ("check.__globals__['np'] = fake", "introspection"),
    ("x.__class__ = Other", "introspection"),
    ("object.__subclasses__()", "introspection"),
    # processes
    (ACCELERATE, "processes"),
    ("__import__('os').system('x')", "processes"),
    ("import os\nos.popen('ls').read()", "processes"),
    ("from os import execv as e\ne('/bin/sh', ['sh'])", "processes"),
    ("import os\nos.spawnlp(os.P_WAIT, 'ls', 'ls')", "processes"),
    ("import pty\npty.spawn('/bin/sh')", "processes"),
    ("import multiprocessing as mp\nmp.Process(target=f).start()", "processes"),
    ("import threading\nthreading.Thread(target=f).start()", "processes"),
    ("import importlib\nimportlib.import_module('subpro' + 'cess').run(['ls'])", "processes"),
    ("%%bash\nrm -rf ~", "processes"),
    ("!rm -rf /", "processes"),
    ("files = !ls ../autograded", "processes"),
    ("for i in range(2):\n    !echo hi", "processes"),
    ("%system ls", "processes"),
    ("%%script bash\necho hi", "processes"),
    # dynamic code
    ("import base64\nexec(base64.b64decode('cHJpbnQoMSk='))", "dynamic-code"),
    ("eval('1 + 1')", "dynamic-code"),
    ("code = compile(src, 'x', 'exec')", "dynamic-code"),
    ("import marshal\nmarshal.loads(blob)", "dynamic-code"),
    ("import pickle\npickle.loads(blob)", "dynamic-code"),
    ("import types\nf = types.FunctionType(code, {})", "dynamic-code"),
    ("b = __builtins__\ngetattr(b, 'ex' + 'ec')('x = 1')", "dynamic-code"),
    ("%run other.py", "dynamic-code"),
    # the code inside exec("...") is reviewed too
    ("exec('import os; os.system(\"ls\")')", "processes"),
    # ctypes
    ("import ctypes\nctypes.pythonapi.PyFrame_LocalsToFast", "ctypes"),
    ("from cffi import FFI", "ctypes"),
    # files
    ("open('answers.txt', 'w').write('x')", "files-write"),
    ("with open(path, mode='a') as f:\n    f.write('x')", "files-write"),
    ("open(path, 'r+')", "files-write"),
    ("from pathlib import Path\nPath('x.py').write_text('x')", "files-write"),
    ("Path('x').open('wb')", "files-write"),
    ("import os\nos.remove('x')", "files-write"),
    ("import shutil\nshutil.rmtree('/tmp/x')", "files-write"),
    ("import shutil as sh\nsh.copy('a', 'b')", "files-write"),
    ("%%writefile course/checks.py\nx = 1", "files-write"),
    ("data = open('../source/01_preprocessing/preprocessing.ipynb').read()", "filesystem-probe"),
    ("import glob\nglob.glob('/home/*/autograded/*')", "filesystem-probe"),
    ("open('/proc/self/environ').read()", "filesystem-probe"),
    ("p = '/usr/lib/python3/site-packages/x.pth'", "filesystem-probe"),
    ("import sqlite3\nsqlite3.connect('gradebook.db')", "filesystem-probe"),
    # network
    ("import socket\nsocket.create_connection(('example.com', 80))", "network"),
    ("from urllib.request import urlopen\nurlopen('http://x')", "network"),
    ("import requests\nrequests.get('http://x')", "network"),
    ("import http.client\nhttp.client.HTTPConnection('x')", "network"),
    # import system
    ("import importlib\nimportlib.reload(course)", "import-system"),
    ("import importlib.util\nspec = importlib.util.spec_from_file_location('m', 'm.py')", "import-system"),
    ("import sys\nsys.path.insert(0, '/tmp')", "import-system"),
    ("import sys\nsys.meta_path.insert(0, finder)", "import-system"),
    ("m = __import__('os')", "import-system"),
    # more indirection
    ("g = getattr\ng(__import__('IPython'), 'get_ipython')()", "ipython-hooks"),
    ("from importlib import import_module as im\nim('os').system('ls')", "processes"),
    ("o = __import__\no('o' + 's')._exit(0)", "interpreter-exit"),
    ("x = 'sys'\n__import__(x).exit()", "interpreter-exit"),
    ("vars(__import__('builtins'))['len'] = f", "builtins"),
    ("import __main__\n__main__.len = f", "builtins"),
    ("import os\ngetattr(os, name)('ls')", "introspection"),
    ("exec(compile('import ctypes', 'x', 'exec'))", "ctypes"),
    ("(lambda: 0).__globals__['__builtins__']", "introspection"),
]


def answer_cell(source: str, grade_id: str = "answer"):
    cell = new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": False, "solution": True, "locked": False, "grade_id": grade_id,
                                 "schema_version": 3}
    return cell


def release(*sources: str):
    return new_notebook(cells=[new_markdown_cell("# Exercise"), *(new_code_cell(s) for s in sources),
                               answer_cell("# YOUR CODE HERE\nraise NotImplementedError()")])


def submit(release_nb, answer: str):
    nb = nbformat.reads(nbformat.writes(release_nb), as_version=4)
    nb.cells[-1].source = answer
    return nb


@pytest.mark.parametrize("source, category", HOSTILE, ids=[f"{i:03d}-{c}" for i, (_, c) in enumerate(HOSTILE)])
def test_hostile_snippets_are_found(source, category):
    findings = review(submit(release(), source), release())
    assert category in {f.category for f in findings}, summarize(findings)
    assert all(f.cell == "answer" and f.line >= 1 and f.detail for f in findings)


def test_enough_hostile_snippets_and_every_category():
    assert len(HOSTILE) >= 40
    assert {c for _, c in HOSTILE} >= {"ipython-hooks", "interpreter-exit", "builtins", "processes", "signals",
                                       "files-write", "filesystem-probe", "introspection", "dynamic-code", "ctypes",
                                       "network", "always-equal", "import-system", "monkeypatch"}


def test_honest_notebook_has_no_findings():
    assert len(HONEST.splitlines()) >= 30
    findings = review(submit(release("import numpy as np"), HONEST), release("import numpy as np"))
    assert findings == [], summarize(findings)


def test_honest_solutions_of_the_course_have_no_findings():
    for path in sorted(Path(__file__).resolve().parents[1].glob("source/*/*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        released = nbformat.read(path.parents[2] / "release" / path.parent.name / path.name, as_version=4)
        findings = review(nb, released)  # every solution differs from its stub, so it is reviewed: it must look honest
        assert findings == [], (path.name, summarize(findings))


def test_untouched_release_cell_is_not_reviewed_but_the_same_code_in_an_answer_is():
    rel = release(ACCELERATE)
    untouched = submit(rel, "x = 1")
    assert review(untouched, rel) == []
    # trailing spaces do not make a cell "changed"
    untouched.cells[1].source = "\n".join(line + "  " for line in ACCELERATE.splitlines()) + "\n"
    assert review(untouched, rel) == []
    findings = review(submit(rel, ACCELERATE), rel)
    assert {f.category for f in findings} == {"processes"}
    assert {f.cell for f in findings} == {"answer"}


def test_imports_of_untouched_cells_are_followed():
    rel = release("import os as operating_system")
    findings = review(submit(rel, "operating_system.system('ls')"), rel)
    assert [(f.cell, f.line, f.category) for f in findings] == [("answer", 1, "processes")]


def test_cells_without_grade_id_are_named_by_index():
    rel = release()
    nb = submit(rel, "x = 1")
    nb.cells.append(new_code_cell("y = 2\nimport subprocess"))
    findings = review(nb, rel)
    assert [(f.cell, f.line, f.category) for f in findings] == [(f"cell {len(nb.cells) - 1}", 2, "processes")]


@pytest.mark.parametrize("source, expected", [
    ("def f(:\n    return 1", set()),
    ("x = = 1", set()),
    ("def f(:\n    get_ipython()", {"unparsable"}),
    ("if True:\n  import subprocess\n   x = (", {"unparsable"}),
    ("%%bash\nif [ x ]; then", {"processes"}),
    ("%%html\n<script>x</script>", set()),
    ("%%time\nx = 1", set()),
    ("%%capture\nimport subprocess", {"processes"}),
    ("1 +" * 5000 + "1", set()),
    ("x = (" * 200 + ")" * 200, set()),
    ("\x00\x01", set()),
    ("", set()),
])
def test_unparsable_cells_do_not_crash(source, expected):
    findings = review(submit(release(), source), release())
    assert {f.category for f in findings} <= expected | {"unparsable"}
    assert expected <= {f.category for f in findings}


def test_summarize_and_review_paths(tmp_path):
    rel = release()
    nb = submit(rel, "x = 1\nget_ipython()")
    nbformat.write(rel, tmp_path / "release.ipynb")
    nbformat.write(nb, tmp_path / "submitted.ipynb")
    findings = review_paths(tmp_path / "submitted.ipynb", tmp_path / "release.ipynb")
    assert findings == [Finding("answer", 2, "ipython-hooks", findings[0].detail)]
    assert summarize(findings) == [f"answer line 2: ipython-hooks: {findings[0].detail}"]
    assert "get_ipython" in findings[0].detail
