"""Review the code a student wrote or changed for things that could tamper with autograding.

Only code cells whose source (line ends stripped) is not the source of a code cell of the released notebook
are reviewed; the other cells are still read, so their imports and aliases are known.  Names are resolved
through ``import x as y``, ``from x import y as z``, simple assignments, ``getattr(obj, <constant>)``,
``__import__``/``importlib.import_module``, ``sys.modules[...]``, ``globals()[...]`` and ``x.__dict__[...]``,
with string constants folded (``"get_" + "ipython"``, ``"".join(...)``, ``[::-1]``, ``b64decode``...).
"""

from __future__ import annotations

import ast
import base64
import builtins
import re
import sys
from dataclasses import dataclass

import nbformat

from .cells import nbgrader_metadata


@dataclass(frozen=True)
class Finding:
    cell: str  # grade id of the cell, or "cell <index>" when it has none
    line: int  # line number within the cell (1-based)
    category: str
    detail: str  # one human sentence


WHY = {
    "ipython-hooks": "can rewrite later cells",
    "interpreter-exit": "can stop the kernel before the tests run",
    "signals": "can interrupt or kill processes",
    "builtins": "changes what the tests' builtins do",
    "monkeypatch": "patches code the tests rely on",
    "always-equal": "an object that passes any comparison",
    "introspection": "reaches into interpreter internals",
    "processes": "runs other programs",
    "dynamic-code": "runs code that cannot be reviewed",
    "ctypes": "can rewrite interpreter memory",
    "files-write": "writes, moves or deletes files",
    "filesystem-probe": "looks for grading files",
    "network": "uses the network",
    "import-system": "changes how modules are imported",
    "unparsable": "does not parse, so it could not be reviewed",
}

_TABLE = {  # qualified name (and everything under it) -> category
    "ipython-hooks": "IPython.get_ipython IPython.core IPython.terminal IPython.InteractiveShell ipykernel",
    "interpreter-exit": "os._exit os.abort sys.exit atexit",
    "signals": "signal os.kill os.killpg faulthandler",
    "builtins": "builtins",
    "monkeypatch": "sys.excepthook sys.displayhook sys.unraisablehook sys.breakpointhook unittest.mock",
    "introspection": "sys.settrace sys.setprofile sys._getframe sys.addaudithook threading.settrace "
    "threading.setprofile gc.get_objects gc.get_referrers gc.get_referents inspect",
    "processes": "subprocess os.system os.popen os.fork os.forkpty pty multiprocessing torch.multiprocessing "
    "concurrent.futures.ProcessPoolExecutor asyncio.create_subprocess_exec asyncio.create_subprocess_shell "
    "threading.Thread threading.Timer _thread",
    "dynamic-code": "marshal pickle.load pickle.loads pickle.Unpickler dill cloudpickle types.FunctionType "
    "types.CodeType types.LambdaType runpy code",
    "ctypes": "ctypes _ctypes cffi",
    "files-write": "os.remove os.unlink os.rename os.renames os.replace os.rmdir os.removedirs os.chmod os.chown "
    "os.lchown os.truncate os.symlink os.link os.open shutil",
    "filesystem-probe": "os.chdir sqlite3",
    "network": "socket urllib requests http.client httpx aiohttp ftplib smtplib telnetlib xmlrpc websocket",
    "import-system": "sys.modules sys.path sys.meta_path sys.path_hooks sys.path_importer_cache importlib.reload "
    "importlib.util importlib.machinery importlib.abc importlib.import_module imp pkgutil site zipimport "
    "types.ModuleType",
}
MODULES = {name: category for category, names in _TABLE.items() for name in names.split()}
PREFIXES = {"os.exec": "processes", "os.spawn": "processes", "os.posix_spawn": "processes"}
AMBIGUOUS = {"code", "site", "signal", "types", "requests", "imp", "http", "inspect"}  # also plain variable names
CALLS = {"exec": "dynamic-code", "eval": "dynamic-code", "compile": "dynamic-code", "exit": "interpreter-exit",
         "quit": "interpreter-exit", "__import__": "import-system", "breakpoint": "introspection"}

_ATTRS = {  # names that are suspicious wherever they appear: as a name, an attribute or a string
    "ipython-hooks": "get_ipython InteractiveShell input_transformers_post input_transformers_cleanup "
    "input_transformer_manager ast_transformers set_custom_exc custom_exceptions register_magic_function "
    "register_magics run_cell run_cell_async run_line_magic run_cell_magic showtraceback showsyntaxerror "
    "user_ns user_global_ns",
    "interpreter-exit": "_exit SystemExit KeyboardInterrupt BaseException GeneratorExit",
    "introspection": "f_back f_globals f_locals f_builtins f_code tb_frame gi_frame cr_frame _getframe currentframe "
    "settrace setprofile __code__ __globals__ __closure__ __subclasses__ get_referrers get_objects get_referents",
    "builtins": "__builtins__ __builtin__",
    "import-system": "meta_path path_hooks path_importer_cache __loader__",
    "files-write": "write_text write_bytes symlink_to hardlink_to unlink rmdir lchmod",
}
ATTRS = {name: category for category, names in _ATTRS.items() for name in names.split()}
ALWAYS_EQUAL = set("__eq__ __ne__ __lt__ __le__ __gt__ __ge__ __bool__ __len__ __float__ __int__ __index__ "
                   "__round__ __abs__ __sub__ __rsub__ __contains__ __instancecheck__ __subclasscheck__".split())
BUILTIN_NAMES = {name for name in dir(builtins) if name != "_"}
LIBRARIES = (set(sys.stdlib_module_names) - AMBIGUOUS) | {  # module names even where no import was seen
    "__main__", "torch", "numpy", "transformers", "datasets", "evaluate", "accelerate", "course", "IPython", "sklearn",
    "pandas"}
RISKY_ROOTS = {"builtins", "os", "sys", "IPython", "subprocess", "importlib", "shutil", "ctypes", "socket", "gc"}
CONFIG_OK = ("torch.backends.", "pandas.options.", "matplotlib.rcParams", "transformers.logging.")
PATH_MARKERS = re.compile(r"\.ipynb|gradebook|/proc\b|/etc\b|source/|autograded|submitted|feedback|\.db\b|"
                          r"\.sqlite|site-packages|dist-packages|\.pth\b|sitecustomize|usercustomize|nbgrader|"
                          r"(^|/)\.\.(/|$)")
WRITE_MODE = re.compile(r"[rbtU]*[wax+][rwaxbt+U]*")
STR_METHODS = {"join", "lower", "upper", "replace", "strip", "decode", "encode", "title", "swapcase", "removeprefix",
               "removesuffix"}  # no format or %: "{:>999999999}" would allocate
DECODERS = {"base64.b64decode": base64.b64decode, "base64.b32decode": base64.b32decode,
            "base64.b16decode": base64.b16decode, "bytes.fromhex": bytes.fromhex, "chr": chr}
_MAGICS = {  # %name / %%name -> category
    "processes": "system sx sc bash sh script perl ruby python python3 pip conda mamba alias",
    "dynamic-code": "run load rerun macro", "files-write": "writefile", "filesystem-probe": "cd", "builtins": "reset",
    "import-system": "load_ext reload_ext",
}
MAGICS = {name: category for category, names in _MAGICS.items() for name in names.split()}
PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun"}
MAGIC_LINE = re.compile(r"^(\s*)(?:[\w.]+\s*=\s*)?(!|%%|%)(!?)(\w*)")
RISKY_TEXT = re.compile("|".join(
    [rf"\b{re.escape(n)}\b" for n in [*ATTRS, *MODULES, "setattr", "globals", "getattr"] if n not in AMBIGUOUS]
    + [rf"(?<![\w.]){n}\s*\(" for n in CALLS]))


def _constant(node) -> bool:
    """An expression made of constants only (`True`, `0`, `1 == 1`, `not False`)."""
    kinds = (ast.Constant, ast.UnaryOp, ast.BinOp, ast.BoolOp, ast.Compare, ast.Tuple, ast.operator, ast.unaryop,
             ast.boolop, ast.cmpop, ast.expr_context)
    return all(isinstance(n, kinds) for n in ast.walk(node))


class _Reviewer(ast.NodeVisitor):
    def __init__(self):
        self.aliases: dict[str, str] = {}  # local name -> qualified name
        self.consts: dict[str, str | bytes] = {}  # local name -> folded string constant
        self.modules: set[str] = set()  # roots of imported modules
        self.findings: dict[tuple, Finding] = {}
        self.cell: str | None = None  # None: only follow imports and aliases, report nothing
        self.depth = 0  # function nesting (0: module level)
        self.line: int | None = None  # report every finding at this line (code inside exec("..."))

    def flag(self, where, category: str, what: str):
        line = self.line or (where if isinstance(where, int) else getattr(where, "lineno", 1))
        if self.cell is not None:
            self.findings.setdefault((self.cell, line, category),
                                     Finding(self.cell, line, category, f"{what} ({WHY[category]})"))

    # -- resolution ------------------------------------------------------------------------------------
    def const(self, node):
        """The str/bytes value of a constant expression, or None."""
        try:
            if isinstance(node, ast.Constant):
                return node.value if isinstance(node.value, (str, bytes)) else None
            if isinstance(node, ast.Name):
                return self.consts.get(node.id)
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
                left, right = self.const(node.left), self.const(node.right)
                return None if left is None or right is None else left + right
            if isinstance(node, ast.JoinedStr):
                parts = [self.const(v.value if isinstance(v, ast.FormattedValue) else v) for v in node.values]
                return None if None in parts else "".join(parts)
            if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice):
                value, s = self.const(node.value), node.slice
                bounds = [None if b is None else ast.literal_eval(b) for b in (s.lower, s.upper, s.step)]
                return None if value is None else value[slice(*bounds)]
            if isinstance(node, ast.Call) and not node.keywords:
                func = node.func
                if isinstance(func, ast.Attribute) and func.attr in STR_METHODS:
                    base = self.const(func.value)
                    if func.attr == "join" and node.args and isinstance(node.args[0], (ast.List, ast.Tuple)):
                        args = [[self.const(e) for e in node.args[0].elts]]
                        args = None if None in args[0] else args
                    else:
                        args = [self.const(a) for a in node.args]
                    return None if base is None or args is None or None in args else getattr(base, func.attr)(*args)
                decode = DECODERS.get(self.qual(func) or "")
                if decode and len(node.args) == 1:
                    arg = self.const(node.args[0]) if decode is not chr else ast.literal_eval(node.args[0])
                    return None if arg is None else decode(arg)
        except Exception:  # noqa: BLE001 - anything odd is simply not a constant
            return None
        return None

    def module(self, name: str) -> str:
        self.modules.add(name.split(".")[0])
        return name

    def qual(self, node) -> str | None:
        """The qualified name an expression refers to (`np.testing` -> `numpy.testing`), or None."""
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id, "builtins" if node.id in ("__builtins__", "__builtin__") else node.id)
        if isinstance(node, ast.Attribute):
            base = self.qual(node.value)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Subscript):
            base, key = self.qual(node.value), self.const(node.slice)
            if not base or not isinstance(key, str):
                return None
            if base == "sys.modules":
                return self.module(key)
            if base == "globals()":
                return self.aliases.get(key, key)
            if base == "builtins" or base.endswith(".__dict__"):
                return f"{base.removesuffix('.__dict__')}.{key}"
            return None
        if isinstance(node, ast.Call):
            func, args = self.qual(node.func), node.args
            func = func and func.removeprefix("builtins.")
            if func in ("__import__", "importlib.import_module", "importlib.__import__") and args:
                name = self.const(args[0])
                if isinstance(name, str):
                    whole = func == "importlib.import_module" or len(args) > 3 or node.keywords
                    return self.module(name if whole else name.split(".")[0])
            if func == "getattr" and len(args) >= 2:
                base, name = self.qual(args[0]), self.const(args[1])
                return f"{base}.{name}" if base and isinstance(name, str) else None
            if func in ("globals", "vars", "locals"):
                return "globals()" if not args else (f"{self.qual(args[0])}.__dict__" if self.qual(args[0]) else None)
            if func == "sys.modules.get" and args and isinstance(self.const(args[0]), str):
                return self.module(self.const(args[0]))
        return None

    # -- checks ----------------------------------------------------------------------------------------
    def check(self, node, qual: str | None, attr: str | None = None):
        if not qual:
            if attr in ATTRS:
                self.flag(node, ATTRS[attr], f"uses {attr}")
            return
        short = qual.removeprefix("builtins.")
        if short in CALLS:
            self.flag(node, CALLS[short], f"uses {short}()")
        for part in qual.split("."):
            if part in ATTRS:
                self.flag(node, ATTRS[part], f"uses {part}")
        parts = qual.split(".")
        if parts[0] in AMBIGUOUS and parts[0] not in self.modules:
            return
        for i in range(len(parts), 0, -1):
            if (key := ".".join(parts[:i])) in MODULES:
                self.flag(node, MODULES[key], f"uses {key}")
                break
        for prefix, category in PREFIXES.items():
            if qual.startswith(prefix):
                self.flag(node, category, f"uses {qual}")

    def check_string(self, node, value):
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        if not isinstance(value, str) or len(value) > 10_000:
            return
        if value in ATTRS:
            self.flag(node, ATTRS[value], f"mentions {value!r}")
        elif value in MODULES and value not in AMBIGUOUS:
            self.flag(node, MODULES[value], f"mentions {value!r}")
        elif ("/" in value or not re.search(r"\s", value)) and PATH_MARKERS.search(value):
            self.flag(node, "filesystem-probe", f"mentions the path {value[:60]!r}")

    def check_target(self, target, deleting=False):
        """An assignment to (or `del` of) `target`."""
        verb = "deletes" if deleting else "rebinds"
        if isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self.check_target(element, deleting)
        elif isinstance(target, ast.Starred):
            self.check_target(target.value, deleting)
        elif isinstance(target, ast.Name):
            if self.depth == 0 and target.id in BUILTIN_NAMES:
                self.flag(target, "builtins", f"{verb} the builtin {target.id}")
        elif isinstance(target, ast.Attribute):
            self.check_attribute_store(target, self.qual(target.value), target.attr, verb)
        elif isinstance(target, ast.Subscript):
            base, key = self.qual(target.value), self.const(target.slice)
            if base == "globals()" and (not isinstance(key, str) or key in BUILTIN_NAMES or key == "__builtins__"):
                self.flag(target, "builtins", f"{verb} globals()[{key!r}]")
            elif base == "sys.modules":
                self.flag(target, "monkeypatch", f"{verb} sys.modules[{key!r}]")
            elif base and base.endswith(".__dict__") and isinstance(key, str):
                self.check_attribute_store(target, base.removesuffix(".__dict__"), key, verb)

    def check_attribute_store(self, node, base: str | None, attr, verb: str):
        qual = f"{base}.{attr}" if base else str(attr)
        if attr in ALWAYS_EQUAL:
            self.flag(node, "always-equal", f"{verb} {qual}")
        if attr in ("__class__", "__bases__", "__dict__"):
            self.flag(node, "introspection", f"{verb} {qual}")
        root = (base or "").split(".")[0]
        if root in ("builtins", "__main__") and attr in BUILTIN_NAMES:
            self.flag(node, "builtins", f"{verb} the builtin {attr}")
        elif (root in self.modules or root in LIBRARIES) and not qual.startswith(CONFIG_OK):
            self.flag(node, "monkeypatch", f"{verb} {qual}")

    # -- visitors --------------------------------------------------------------------------------------
    def visit(self, node):
        if isinstance(node, (ast.BinOp, ast.JoinedStr, ast.Call, ast.Subscript)):
            self.check_string(node, self.const(node))
        return super().visit(node)

    def visit_Constant(self, node):
        self.check_string(node, node.value)

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Load):
            self.check(node, self.qual(node))

    def visit_Attribute(self, node):
        self.check(node, self.qual(node), node.attr)
        if node.attr == "register" and isinstance(node.value, ast.Attribute) and node.value.attr == "events":
            self.flag(node, "ipython-hooks", "uses events.register")
        self.generic_visit(node)

    def visit_Subscript(self, node):
        self.check(node, self.qual(node))
        self.generic_visit(node)

    def visit_Import(self, node):
        for alias in node.names:
            if isinstance(node, ast.Import):
                qual, local = alias.name, alias.asname or alias.name.split(".")[0]
                self.aliases[local] = qual if alias.asname else local
            else:
                qual = f"{node.module}.{alias.name}" if node.module and not node.level else alias.name
                local = alias.asname or alias.name
                self.aliases[local] = qual
            self.module(qual)
            self.check(node, qual.removesuffix(".*"))
            self.check_target(ast.Name(local, ast.Store(), lineno=node.lineno))

    visit_ImportFrom = visit_Import

    def bind(self, target, value):
        """Follow `name = <module, function or string constant>` so that later uses resolve."""
        if isinstance(target, ast.Name):
            qual = self.qual(value) if isinstance(value, (ast.Name, ast.Attribute, ast.Subscript, ast.Call)) else None
            const = self.const(value) if value is not None else None
            self.aliases.pop(target.id, None) if qual is None else self.aliases.__setitem__(target.id, qual)
            self.consts.pop(target.id, None) if const is None else self.consts.__setitem__(target.id, const)
        elif isinstance(target, (ast.Tuple, ast.List, ast.Starred)):
            for element in getattr(target, "elts", [getattr(target, "value", None)]):
                self.bind(element, None)

    def visit_Assign(self, node):
        """Assignments, `del`, `for`, `with` and `:=`: the value, then each target is checked and followed."""
        self.generic_visit(node)
        value = None if isinstance(node, (ast.AugAssign, ast.Delete)) else getattr(node, "value", None)
        targets = getattr(node, "targets", None) or [getattr(node, "target", None)]
        for target in filter(None, targets + [item.optional_vars for item in getattr(node, "items", [])]):
            self.check_target(target, deleting=isinstance(node, ast.Delete))
            self.bind(target, value)

    visit_AnnAssign = visit_AugAssign = visit_NamedExpr = visit_Delete = visit_Assign
    visit_For = visit_AsyncFor = visit_With = visit_AsyncWith = visit_Assign

    def visit_Global(self, node):
        for name in set(node.names) & BUILTIN_NAMES:
            self.flag(node, "builtins", f"declares the builtin {name} global")

    def visit_FunctionDef(self, node):
        """Functions, lambdas and classes: the name is bound here, the body is not module level."""
        if not isinstance(node, ast.Lambda):
            self.check_target(ast.Name(node.name, ast.Store(), lineno=node.lineno))
        if isinstance(node, ast.ClassDef):
            self.check_class(node)
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1
        if not isinstance(node, ast.Lambda):
            self.bind(ast.Name(node.name, ast.Store()), None)

    visit_AsyncFunctionDef = visit_Lambda = visit_ClassDef = visit_FunctionDef

    def check_class(self, node):
        """Methods such as `__eq__` that return a constant, `__getattr__` that returns self."""
        for item in node.body:
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name in ALWAYS_EQUAL:
                returns = [n.value for n in ast.walk(item) if isinstance(n, ast.Return)]
                if returns and all(r is not None and _constant(r) for r in returns):
                    self.flag(item, "always-equal", f"defines {item.name} returning a constant")
            elif isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.args.args and item.name in (
                    "__getattr__", "__getattribute__", "__call__"):
                this = item.args.args[0].arg
                if any(isinstance(n, ast.Return) and isinstance(n.value, ast.Name) and n.value.id == this
                       for n in ast.walk(item)):
                    self.flag(item, "always-equal", f"defines {item.name} returning self")
            elif isinstance(item, ast.Assign) and isinstance(item.value, ast.Lambda) and _constant(item.value.body):
                for target in item.targets:
                    if isinstance(target, ast.Name) and target.id in ALWAYS_EQUAL:
                        self.flag(item, "always-equal", f"sets {target.id} to a constant lambda")

    def visit_Dict(self, node):
        for key, value in zip(node.keys, node.values):
            if key is not None and self.const(key) in ALWAYS_EQUAL and isinstance(value, ast.Lambda):
                self.flag(node, "always-equal", f"builds a class with {self.const(key)}")
        self.generic_visit(node)

    def visit_Call(self, node):
        func, args = self.qual(node.func), node.args
        short = (func or "").removeprefix("builtins.")
        self.check(node, self.qual(node))
        method = node.func.attr if isinstance(node.func, ast.Attribute) else None
        if short in ("open", "io.open", "codecs.open") or method == "open":
            modes = [k.value for k in node.keywords if k.arg == "mode"]
            modes += args[1:2] if short in ("open", "io.open", "codecs.open") else args[:2]
            for mode in modes:
                value = self.const(mode)
                if value is None and short == "open" or isinstance(value, str) and WRITE_MODE.fullmatch(value):
                    self.flag(node, "files-write", f"opens a file with mode {value or ast.unparse(mode)!r}")
        if short == "getattr" and len(args) >= 2 and self.const(args[1]) is None:
            base = self.qual(args[0]) or ""
            if base.split(".")[0] in RISKY_ROOTS:
                self.flag(node, "introspection", f"calls getattr({base}, <computed name>)")
        if short in ("setattr", "delattr", "object.__setattr__") and len(args) >= 2:
            self.check_attribute_store(node, self.qual(args[0]), self.const(args[1]) or "<computed>",
                                       "deletes" if short == "delattr" else "rebinds")
        if short in ("globals().update", "globals().setdefault") or short.endswith("__dict__.update"):
            self.flag(node, "builtins" if short.startswith("globals") else "monkeypatch", f"calls {short}()")
        if short in ("exec", "eval", "compile") and args and isinstance(self.const(args[0]), (str, bytes)):
            self.review_payload(node, self.const(args[0]))
        self.generic_visit(node)

    def review_payload(self, node, payload):
        """Review the code inside exec("...") as if it were written here."""
        try:
            tree = ast.parse(payload)
        except (SyntaxError, ValueError):
            return
        saved, self.line, depth, self.depth = self.line, self.line or node.lineno, self.depth, 0
        self.visit(tree)
        self.line, self.depth = saved, depth

    # -- one cell --------------------------------------------------------------------------------------
    def review_source(self, source: str):
        self.depth, self.line = 0, None
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            python = self.strip_magics(source)
            try:
                tree = ast.parse(python) if python is not None else None
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                tree = None
                if match := RISKY_TEXT.search(python):
                    line = python.count("\n", 0, match.start()) + 1
                    self.flag(line, "unparsable", f"mentions {match.group().rstrip('( ')!r}")
        if tree is not None:
            try:
                self.visit(tree)
            except RecursionError:
                self.flag(1, "unparsable", "is nested too deeply to review")

    def strip_magics(self, source: str) -> str | None:
        """The cell with IPython magics and shell escapes replaced by `pass`; None when it is not Python."""
        lines = source.splitlines()
        for number, line in enumerate(lines, 1):
            if not (match := MAGIC_LINE.match(line)):
                continue
            indent, kind, bang, name = match.groups()
            if kind == "!" or bang:
                self.flag(number, "processes", f"runs the shell command {line.strip()[:60]!r}")
            elif name in MAGICS:
                self.flag(number, MAGICS[name], f"uses the magic {kind}{name}")
            if kind == "%%" and name == "writefile" and number == 1:
                lines[0] = "pass"  # a script written to a file (notebook 4's Accelerate script): reviewed as Python
                continue
            if kind == "%%" and name not in PYTHON_CELL_MAGICS:
                return None  # %%bash, %%html...: the rest of the cell is not Python
            lines[number - 1] = indent + "pass"
        return "\n".join(lines)


def _source(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _normal(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


def review(nb, release_nb) -> list[Finding]:
    """Findings in the code cells of `nb` whose source is not that of a code cell of `release_nb`.

    An answer cell (nbgrader `solution`) counts as untouched only when it is the release's version of that cell,
    so release code pasted into an answer is reviewed."""
    released, by_id = set(), {}
    for cell in release_nb["cells"]:
        if cell.get("cell_type") == "code":
            released.add(_normal(_source(cell)))
            by_id[nbgrader_metadata(cell).get("grade_id")] = _normal(_source(cell))
    reviewer = _Reviewer()
    for index, cell in enumerate(nb["cells"]):
        if cell.get("cell_type") != "code":
            continue
        source, meta = _source(cell), nbgrader_metadata(cell)
        if meta.get("solution") and meta.get("grade_id"):
            untouched = by_id.get(meta["grade_id"]) == _normal(source)
        else:
            untouched = _normal(source) in released
        reviewer.cell = None if untouched else (meta.get("grade_id") or f"cell {index}")
        reviewer.review_source(source)
        release_lines = by_id.get(meta.get("grade_id")) if meta.get("solution") else None
        if release_lines and reviewer.cell is not None:
            # the release's own lines of this answer cell (its scaffolding) are not what the student changed
            kept, lines = set(release_lines.splitlines()), source.splitlines()
            for key in [k for k in reviewer.findings if k[0] == reviewer.cell]:
                if 0 < key[1] <= len(lines) and lines[key[1] - 1].rstrip() in kept:
                    del reviewer.findings[key]
    return list(reviewer.findings.values())


def summarize(findings) -> list[str]:
    """One line per finding, for notes and feedback."""
    return [f"{f.cell} line {f.line}: {f.category}: {f.detail}" for f in findings]


def review_paths(notebook_path, release_path) -> list[Finding]:
    return review(nbformat.read(notebook_path, as_version=4), nbformat.read(release_path, as_version=4))
