"""course.report: the values a notebook records, shown once and read back from the executed notebook."""

from __future__ import annotations

import nbformat
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from course.report import MIME_TYPE, read_records


def test_record_shows_its_values_once_as_the_last_line_of_a_cell():
    shell = InteractiveShell.instance()
    try:
        with capture_output() as shown:
            result = shell.run_cell("import numpy as np, course.report\n"
                                    "course.report.record(accuracy=np.float32(0.75), shape=(408, 2))")
        assert result.success and result.result is None, "nothing returned for the cell to echo a second time"
        assert len(shown.outputs) == 1
        assert shown.outputs[0].data[MIME_TYPE] == {"accuracy": 0.75, "shape": [408, 2]}
    finally:
        InteractiveShell.clear_instance()


def test_read_records_later_values_win():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(outputs=[nbformat.v4.new_output("display_data", {MIME_TYPE: {"a": 1, "b": 2}})]),
        nbformat.v4.new_code_cell(outputs=[nbformat.v4.new_output("display_data", {MIME_TYPE: {"a": 3}})]),
    ])
    assert read_records(nb) == {"a": 3, "b": 2}
