"""Mutation testing of the graders: small changes to every graded solution, graded by the real grader.

A *mutant* is the instructor's solution of one answer cell with one change a student could make (the
operators of :class:`Mutator`: numbers and off-by-one, strings such as split, column and metric names,
dropped or flipped keyword arguments, swapped arguments, operators and comparisons, removed statements (among them
``model.eval()`` and ``model.train()``) and unwrapped calls; and the patterns of issue 28: the training data
shuffled, the text columns dropped by ``map``, a metric averaged over the batches instead of computed once, a
scheduler stepped once after its loop instead of every step), made on the syntax tree of the cell's solution lines
only. The real grader (nbgrader, the
sandbox, the judges; the catalogue's *focused* mode, :mod:`autograder.catalogue`) grades each one. A mutant is
*killed* when it gets fewer points than the solution on its own exercise's tests. A survivor is either a gap in
the grader (add a hidden check, and a catalogue entry for the mistake) or a correct answer, listed with a
one-line reason in the catalogue's ``EQUIVALENT`` dict ("<answer cell>: <mutant label>" -> why it is still right).

Score per exercise: killed / (mutants - equivalent). ``python -m autograder.mutation`` grades every mutant and
writes ``catalogues/mutation_scores.json`` and the table in ``autograder/README.md``; ``--sample N`` grades
``N`` mutants per exercise (a stable choice), as the tests do.
"""

from __future__ import annotations

import argparse
import ast
import copy
import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from .catalogue import (
    Entry,
    EntryResult,
    autograded_tests,
    exercise_tests,
    grade_catalogue,
    load_catalogue,
    read_release,
)
from .cells import grade_id
from .config import SOLUTION_BEGIN, SOLUTION_END, discover_assignments, notebooks_of
from .outcome import Status
from .release import marked_lines

RESULTS = Path(__file__).resolve().parents[1] / "catalogues" / "mutation_scores.json"  # course data, not code
README = Path(__file__).with_name("README.md")
TABLE_BEGIN, TABLE_END = "<!-- mutation-scores:begin -->", "<!-- mutation-scores:end -->"

# Names a student confuses with others: name -> what they write instead.
SWAPS = {
    "train": ["validation"], "validation": ["train", "test"], "test": ["validation"],
    "sentence1": ["sentence2"], "sentence2": ["sentence1"], "sentence": ["sentence1", "text"],
    "label": ["labels"], "labels": ["label"], "text": ["sentence"], "accuracy": ["f1"], "f1": ["accuracy"],
    "epoch": ["steps", "no"], "max_length": ["longest"], "longest": ["max_length"], "mrpc": ["sst2"],
    "sst2": ["mrpc"], "input_ids": ["attention_mask"], "attention_mask": ["input_ids"], "torch": ["numpy"],
    "linear": ["constant"], "macro": ["micro", "weighted"], "pt": ["np"], "idx": ["label"],
}  # fmt: skip
_COMPARE = {ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE,
            ast.GtE: ast.Gt, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is}
TEXT_COLUMNS = ("sentence", "sentence1", "sentence2", "text")  # what `map(..., remove_columns=...)` may drop
_BINOP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.FloorDiv: ast.Div,
          ast.Mod: ast.FloorDiv, ast.Pow: ast.Mult}  # fmt: skip


@dataclass
class Mutant:
    assignment: str
    notebook: str
    cell: str
    label: str  # what changed, e.g. "keyword dropped: tokenizer(..., truncation=True)"
    source: str  # the whole answer cell with the change

    @property
    def key(self) -> str:
        return hashlib.sha256(f"{self.cell}\0{self.source}".encode()).hexdigest()[:10]

    @property
    def name(self) -> str:
        """How the catalogue's EQUIVALENT names it."""
        return f"{self.cell}: {self.label}"


@dataclass
class ExerciseScore:
    assignment: str
    cell: str
    mutants: int = 0
    killed: int = 0
    equivalent: int = 0
    survivors: list[str] = field(default_factory=list)  # labels of the non-equivalent survivors
    equivalents: list[str] = field(default_factory=list)  # labels of the survivors listed as correct answers

    @property
    def score(self) -> float | None:
        n = self.mutants - self.equivalent
        return None if n <= 0 else self.killed / n


def solution_lines(source: str) -> set[int]:
    """1-based line numbers of ``source`` between the solution markers."""
    return {number for number, _ in marked_lines(source, SOLUTION_BEGIN, SOLUTION_END)}


def _short(node: ast.AST, limit: int = 60) -> str:
    text = ast.unparse(node).replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Mutator:
    """The mutants of one cell: one change each, on nodes that start on a solution line."""

    def __init__(self, source: str):
        self.source = source
        self.lines = solution_lines(source)
        self.tree = ast.parse(source)
        self.original = ast.unparse(self.tree)

    def _eligible(self, node) -> bool:
        return getattr(node, "lineno", None) in self.lines

    def mutants(self) -> list[tuple[str, str]]:
        """``[(label, mutated cell source)]``, without duplicates or no-ops."""
        out: dict[str, str] = {}
        nodes = list(ast.walk(self.tree))
        for index, node in enumerate(nodes):
            if not self._eligible(node):
                continue
            for label, change in self._changes(node):
                tree = copy.deepcopy(self.tree)
                target = list(ast.walk(tree))[index]
                if change(target, tree) is False:
                    continue
                try:
                    text = ast.unparse(ast.fix_missing_locations(tree))
                    compile(text, "<mutant>", "exec")
                except (SyntaxError, ValueError, TypeError):
                    continue
                if text != self.original and text not in out.values():
                    k = 2
                    while label in out:  # the same change at two places of one line
                        label = f"{label.split(' #')[0]} #{k}"
                        k += 1
                    out[label] = text
        return sorted(out.items(), key=lambda kv: kv[0])

    def _changes(self, node):  # noqa: C901 - one branch per operator
        if isinstance(node, ast.Constant) and type(node.value) is int:
            for new in {node.value + 1, node.value - 1}:
                yield f"number: {node.value} -> {new} in line {node.lineno}", _set(value=new)
        elif isinstance(node, ast.Constant) and type(node.value) is float:
            for new in (node.value * 10, node.value / 10):
                yield f"number: {node.value} -> {new:g} in line {node.lineno}", _set(value=new)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in SWAPS:
            for new in SWAPS[node.value]:
                yield f"name: {node.value!r} -> {new!r} in line {node.lineno}", _set(value=new)
        elif isinstance(node, ast.Call):
            call = _short(node)
            for i, kw in enumerate(node.keywords):
                if kw.arg is None:
                    continue
                yield f"keyword dropped: {kw.arg}= in {call}", _drop_keyword(i)
                if isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, bool):
                    yield f"keyword flipped: {kw.arg}={not kw.value.value} in {call}", _flip_keyword(i)
            if len(node.args) >= 2:
                yield f"arguments swapped: {call}", _swap_args
            if len(node.args) == 1 and not node.keywords and isinstance(node.func, (ast.Name, ast.Attribute)):
                yield f"call removed: {call} -> {_short(node.args[0])}", _unwrap
        elif isinstance(node, ast.Compare) and type(node.ops[0]) in _COMPARE:
            new = _COMPARE[type(node.ops[0])]
            yield f"comparison: {_short(node)} ({type(node.ops[0]).__name__} -> {new.__name__})", _set_op(new)
        elif isinstance(node, ast.BinOp) and type(node.op) in _BINOP:
            new = _BINOP[type(node.op)]
            yield f"operator: {_short(node)} ({type(node.op).__name__} -> {new.__name__})", _set_binop(new)
        elif isinstance(node, ast.BoolOp):
            yield f"boolean: {_short(node)} (and <-> or)", _flip_boolop
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.USub)):
            yield f"unary removed: {_short(node)}", _drop_unary
        if isinstance(node, ast.stmt) and not isinstance(node, (ast.FunctionDef, ast.Import, ast.ImportFrom, ast.Pass)):
            yield f"statement removed: {_short(node)}", _remove_statement(node)
        yield from self._data_and_loop_changes(node)

    def _data_and_loop_changes(self, node):
        """The patterns of issue 28: training data shuffled, text columns dropped, a metric averaged per batch, a
        scheduler stepped once after its loop."""
        if _is_train_split(node):
            yield f"shuffled: {_short(node)} -> {_short(node)}.shuffle(seed=42)", _shuffle
        elif isinstance(node, ast.keyword) and node.arg == "train_dataset" and not _is_train_split(node.value):
            yield f"shuffled: train_dataset={_short(node.value)} -> ....shuffle(seed=42)", _shuffle_keyword
        if _is_method_call(node, "map") and not any(kw.arg == "remove_columns" for kw in node.keywords):
            constants = (n.value for n in ast.walk(self.tree) if isinstance(n, ast.Constant))
            read = sorted({c for c in constants if isinstance(c, str) and c in TEXT_COLUMNS})
            if read:
                yield f"columns dropped: {_short(node)} with remove_columns={read}", _drop_columns(read)
        if isinstance(node, ast.Expr) and _is_method_call(node.value, "add_batch"):
            yield f"averaged per batch: {_short(node.value)} -> the mean of per-batch metrics", _average_per_batch
        if isinstance(node, ast.Expr) and _is_method_call(node.value, "step") and "sched" in _short(node.value.func):
            yield f"stepped once: {_short(node.value)} after its loop, not every step", _step_after_loop


# ------------------------------------------------------------------------------------ the changes (in place)
def _set(**values):
    def change(node, _tree):
        for k, v in values.items():
            setattr(node, k, v)

    return change


def _drop_keyword(i):
    def change(node, _tree):
        del node.keywords[i]

    return change


def _flip_keyword(i):
    def change(node, _tree):
        node.keywords[i].value.value = not node.keywords[i].value.value

    return change


def _swap_args(node, _tree):
    node.args[0], node.args[1] = node.args[1], node.args[0]


def _unwrap(node, tree):
    return _replace(tree, node, node.args[0])


def _set_op(new):
    def change(node, _tree):
        node.ops[0] = new()

    return change


def _set_binop(new):
    def change(node, _tree):
        node.op = new()

    return change


def _flip_boolop(node, _tree):
    node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()


def _drop_unary(node, tree):
    return _replace(tree, node, node.operand)


def _remove_statement(original):
    def change(node, tree):
        for parent in ast.walk(tree):
            for name in ("body", "orelse", "finalbody"):
                block = getattr(parent, name, None)
                if isinstance(block, list) and node in block:
                    block[block.index(node)] = ast.Pass()
                    return None
        return False

    return change


def _is_method_call(node, name: str) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == name


def _is_train_split(node) -> bool:
    """``x["train"]`` read (not assigned to)."""
    return (isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load)
            and isinstance(node.slice, ast.Constant) and node.slice.value == "train")


def _shuffled(expr) -> ast.Call:
    return ast.Call(ast.Attribute(expr, "shuffle", ast.Load()), [], [ast.keyword("seed", ast.Constant(42))])


def _shuffle(node, tree):
    return _replace(tree, node, _shuffled(node))


def _shuffle_keyword(node, _tree):
    node.value = _shuffled(node.value)


def _drop_columns(columns):
    def change(node, _tree):
        node.keywords.append(ast.keyword("remove_columns", ast.List([ast.Constant(c) for c in columns], ast.Load())))

    return change


def _parent_block(tree, node) -> tuple[list, int] | None:
    """The statement list holding ``node`` and its index there."""
    for parent in ast.walk(tree):
        for name in ("body", "orelse", "finalbody"):
            block = getattr(parent, name, None)
            if isinstance(block, list) and any(s is node for s in block):
                return block, [i for i, s in enumerate(block) if s is node][0]
    return None


def _enclosing_loop(tree, node):
    """The innermost ``for`` or ``while`` whose body holds ``node``."""
    loops = [n for n in ast.walk(tree) if isinstance(n, (ast.For, ast.While)) and any(s is node for s in ast.walk(n))]
    return min(loops, key=lambda n: sum(1 for _ in ast.walk(n)), default=None)


def _average_per_batch(node, tree):
    """``metric.add_batch(**kw)`` in a loop -> each batch's ``metric.compute(**kw)`` kept, and ``metric.compute()``
    -> the mean of those per key."""
    loop, call = _enclosing_loop(tree, node), node.value
    metric = ast.unparse(call.func.value)
    placed = _parent_block(tree, loop) if loop is not None else None
    if placed is None:
        return False
    block, i = placed
    block.insert(i, ast.parse("_per_batch = []").body[0])
    computed = ast.Call(ast.Attribute(call.func.value, "compute", ast.Load()), call.args, call.keywords)
    node.value = ast.Call(ast.Attribute(ast.Name("_per_batch", ast.Load()), "append", ast.Load()), [computed], [])
    mean = ast.parse("{k: sum(s[k] for s in _per_batch) / len(_per_batch) for k in _per_batch[0]}", mode="eval").body
    finals = [n for n in ast.walk(tree) if _is_method_call(n, "compute") and not n.args and not n.keywords
              and ast.unparse(n.func.value) == metric]
    if not finals:
        return False
    for final in finals:
        _replace(tree, final, copy.deepcopy(mean))
    return None


def _step_after_loop(node, tree):
    """``scheduler.step()`` moved from its loop's body to just after the loop (once, not every step)."""
    loop = _enclosing_loop(tree, node)
    inner, outer = _parent_block(tree, node), _parent_block(tree, loop) if loop is not None else None
    if inner is None or outer is None:
        return False
    block, i = inner
    block[i] = ast.Pass()
    block, j = outer
    block.insert(j + 1, node)
    return None


def _replace(tree, old, new) -> bool | None:
    for parent in ast.walk(tree):
        for name, value in ast.iter_fields(parent):
            if value is old:
                setattr(parent, name, new)
                return None
            if isinstance(value, list) and any(v is old for v in value):
                value[[i for i, v in enumerate(value) if v is old][0]] = new
                return None
    return False


# ---------------------------------------------------------------------------------------------- the course
def graded_answer_cells(course_root, assignment: str) -> list[tuple[str, str, str]]:
    """``[(notebook, answer cell, source with markers)]`` of every answer cell that has autograded tests."""
    out = []
    for nb_name in notebooks_of(course_root, assignment):
        release = read_release(course_root, assignment, nb_name)
        tested = {cell for cell, tests in exercise_tests(release).items() if tests}
        src = nbformat.read(Path(course_root) / "source" / assignment / f"{nb_name}.ipynb", as_version=4)
        for c in src.cells:
            gid = grade_id(c)
            if gid in tested and c.cell_type == "code" and not c.source.lstrip().startswith("%"):
                out.append((nb_name, gid, c.source))
    return out


def mutants_of(course_root, assignment: str) -> list[Mutant]:
    return [
        Mutant(assignment, nb, cell, label, text)
        for nb, cell, source in graded_answer_cells(course_root, assignment)
        for label, text in Mutator(source).mutants()
    ]


def equivalent_mutants(course_root, assignment: str) -> dict[str, str]:
    """The catalogue's ``EQUIVALENT``: "<answer cell>: <mutant label>" -> why that answer is still correct."""
    return load_catalogue(course_root, assignment).equivalent


def sample(mutants: list[Mutant], per_exercise: int) -> list[Mutant]:
    """``per_exercise`` mutants of each answer cell, chosen by a stable hash (the same on every machine)."""
    by_cell: dict[str, list[Mutant]] = {}
    for m in sorted(mutants, key=lambda m: m.key):
        by_cell.setdefault(m.cell, []).append(m)
    keep = {id(m) for group in by_cell.values() for m in group[:per_exercise]}
    return [m for m in mutants if id(m) in keep]


def mutant_entry(assignment: str, m: Mutant) -> Entry:
    """The mutant as a wrong catalogue entry (its own exercise's tests expected to lose points), so that it can be
    graded with other entries in one batch (:func:`autograder.catalogue.grade_catalogue`, focused mode)."""
    return Entry(assignment, "wrong", m.notebook, m.cell, f"m{m.key}", source=m.source)


def is_killed(course_root, assignment: str, result: EntryResult) -> bool:
    """Whether the graded mutant lost points on a test of its own exercise (or its notebook did not grade)."""
    points = autograded_tests(read_release(course_root, assignment, result.entry.notebook))
    return result.status != Status.OK or any(result.actual.get(t, 0.0) < points[t] - 1e-9 for t in result.expected)


def grade_mutants(course_root, assignment: str, mutants: list[Mutant], jobs: int = 2) -> dict[str, bool]:
    """Grade every mutant with the real grader (focused mode); ``{mutant key: killed}``."""
    entries = [mutant_entry(assignment, m) for m in mutants]
    results = grade_catalogue(course_root, assignment, entries=entries, jobs=jobs, mode="focused")
    return {m.key: is_killed(course_root, assignment, r) for m, r in zip(mutants, results)}


def score(course_root, assignment: str, mutants: list[Mutant], killed: dict[str, bool]) -> list[ExerciseScore]:
    equivalent = equivalent_mutants(course_root, assignment)
    scores: dict[str, ExerciseScore] = {}
    for m in mutants:
        s = scores.setdefault(m.cell, ExerciseScore(assignment, m.cell))
        s.mutants += 1
        if killed.get(m.key):
            s.killed += 1
        elif m.name in equivalent:
            s.equivalent += 1
            s.equivalents.append(m.label)
        else:
            s.survivors.append(m.label)
    return list(scores.values())


def rescore(course_root, results: Path = RESULTS) -> list[ExerciseScore]:
    """The last run's scores with the catalogues' current EQUIVALENT lists (nothing graded again)."""
    out = []
    for row in json.loads(results.read_text()):
        s = ExerciseScore(row["assignment"], row["cell"], row["mutants"], row["killed"])
        equivalent = equivalent_mutants(course_root, s.assignment)
        for label in row.get("survivors", []) + row.get("equivalents", []):
            if f"{s.cell}: {label}" in equivalent:
                s.equivalent += 1
                s.equivalents.append(label)
            else:
                s.survivors.append(label)
        out.append(s)
    return out


def markdown_table(scores: list[ExerciseScore]) -> str:
    lines = ["| assignment | exercise | mutants | killed | equivalent | score |", "|---|---|---:|---:|---:|---:|"]
    for s in scores:
        value = "-" if s.score is None else f"{s.score:.0%}"
        lines.append(f"| {s.assignment} | {s.cell} | {s.mutants} | {s.killed} | {s.equivalent} | {value} |")
    return "\n".join(lines)


def write_results(scores: list[ExerciseScore], results: Path = RESULTS, readme: Path = README) -> None:
    """``scores`` into ``results`` (the exercises graded this time replace theirs, the others stay) and the README."""
    fresh = {(s.assignment, s.cell): {**asdict(s), "score": s.score} for s in scores}
    kept = json.loads(results.read_text()) if results.is_file() else []
    rows = {(r["assignment"], r["cell"]): r for r in kept} | fresh
    data = sorted(rows.values(), key=lambda r: r["assignment"])  # stable: cells keep their order in each one
    results.write_text(json.dumps(data, indent=1) + "\n")
    scores = [ExerciseScore(r["assignment"], r["cell"], r["mutants"], r["killed"], r["equivalent"],
                            r.get("survivors", []), r.get("equivalents", [])) for r in data]
    text = readme.read_text()
    if TABLE_BEGIN in text and TABLE_END in text:
        head, rest = text.split(TABLE_BEGIN, 1)
        readme.write_text(head + TABLE_BEGIN + "\n" + markdown_table(scores) + "\n" + TABLE_END
                          + rest.split(TABLE_END, 1)[1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.mutation", description=__doc__.split("\n\n")[0])
    parser.add_argument("--course-root", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--assignment", action="append", help="only these assignments (repeatable)")
    parser.add_argument("--sample", type=int, default=None, help="mutants per exercise (default: all)")
    parser.add_argument("--cell", action="append", help="only the mutants of these answer cells (repeatable)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--list", action="store_true", help="print the mutants, grade nothing")
    parser.add_argument("--write", action="store_true", help="write mutation_scores.json and the README table")
    parser.add_argument("--rescore", action="store_true",
                        help="apply the catalogues' EQUIVALENT lists to the last run's results (grades nothing)")
    args = parser.parse_args(argv)
    if args.rescore:
        scores = rescore(args.course_root)
        print(markdown_table(scores))
        if args.write:
            write_results(scores)
        return 0
    assignments = args.assignment or discover_assignments(args.course_root)
    scores = []
    for a in assignments:
        mutants = mutants_of(args.course_root, a)
        if args.cell:
            mutants = [m for m in mutants if m.cell in args.cell]
        if args.sample:
            mutants = sample(mutants, args.sample)
        if args.list:
            for m in mutants:
                print(f"{a} {m.cell} {m.key} {m.label}")
            continue
        killed = grade_mutants(args.course_root, a, mutants, jobs=args.jobs)
        for s in score(args.course_root, a, mutants, killed):
            scores.append(s)
            print(f"{a} {s.cell}: {s.killed}/{s.mutants - s.equivalent} killed ({s.equivalent} equivalent)"
                  + "".join(f"\n    survived: {label}" for label in s.survivors), flush=True)
    if args.write and scores:
        write_results(scores)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
