"""The sandbox's wire format refuses anything but plain data; flags and feedback say what a teacher needs to
know."""

from __future__ import annotations

import io
import json
import pickle
import re
import struct

import numpy as np
import pytest

from minirnn.cli import assignment as assignment_cli
from minirnn.course import write_assignment
from minirnn.course.feedback import explain
from minirnn.course.sandbox_child import MAX_HEADER, WireError, read_message, write_message
from minirnn.course.submissions import Submission, flags


def _frame(header: bytes, arrays=()) -> io.BytesIO:
    data = b"MRNN" + struct.pack(">I", len(header)) + header
    for array in arrays:
        data += struct.pack(">Q", len(array)) + array
    return io.BytesIO(data)


def test_messages_round_trip_arrays_tuples_dicts_and_non_finite_numbers():
    buffer = io.BytesIO()
    value = {"a": (np.arange(6.0).reshape(2, 3), [1, 2.5, float("nan")]), "b": np.bool_(True), "c": "text"}
    write_message(buffer, {"kind": "x", "value": value})
    buffer.seek(0)
    got = read_message(buffer)["value"]
    assert np.array_equal(got["a"][0], value["a"][0]) and isinstance(got["a"], tuple)
    assert (
        got["a"][1][:2] == [1, 2.5] and np.isnan(got["a"][1][2]) and got["b"] == True and got["c"] == "text"
    )


def test_a_pickle_is_never_read():
    with pytest.raises(WireError, match="magic"):
        read_message(io.BytesIO(pickle.dumps({"kind": "result"})))


def test_an_object_array_inside_a_frame_is_refused_without_unpickling():
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(WireError, match="could not be read"):
        read_message(_frame(b'{"kind": "result", "v": {"$a": 0}}', [buffer.getvalue()]))


def test_structured_arrays_and_oversized_headers_are_refused_before_reading():
    buffer = io.BytesIO()
    np.save(buffer, np.zeros(2, dtype=[("a", "f8")]))
    with pytest.raises(WireError, match="only numbers"):
        read_message(_frame(b'{"kind": "r", "v": {"$a": 0}}', [buffer.getvalue()]))
    huge = io.BytesIO(b"MRNN" + struct.pack(">I", MAX_HEADER + 1))  # no body: never read
    with pytest.raises(WireError, match="more than the limit"):
        read_message(huge)
    with pytest.raises(WireError, match="unknown form"):
        read_message(_frame(b'{"kind": "r", "v": {"__reduce__": 1}}'))


def test_reference_code_is_flagged_even_with_renamed_variables_and_an_own_solution_is_not(tmp_path):
    write_assignment(tmp_path, cells=("rnn",), with_solution=True)
    text = (tmp_path / "rnn.py").read_text()
    renamed = re.sub(r"\bm\b", "keep", text.replace("dh_carry", "g"))  # local names only
    assert renamed.count("keep[t]") >= 4
    [flag] = flags(Submission("s", {"rnn.py": renamed}))
    assert flag == "rnn: all 5 parts are the reference's code (same normalised syntax tree)"
    own = text.replace("    x_proj = x @ W_ih.T + b_ih ", "    x_proj = b_ih + x @ W_ih.T ")
    assert flags(Submission("s", {"rnn.py": own})) == [
        "rnn: step_backward, recurrent_step, forward, backward are the reference's code "
        "(same normalised syntax tree)"
    ]
    assert flags(Submission("s", {"rnn.py": "import numpy as np\nexec(open('x').read())\n"})) == [
        "rnn.py uses exec (code or objects reached at run time: worth a look)"
    ]


def test_feedback_names_the_forward_line_and_the_gate_block():
    assert explain("lstm", "dc_prev[3, 2] in random 1 (B=4, I=5, H=3)") == (
        "dc_prev is the gradient of the loss with respect to c_prev; it flows back through "
        "`c = f * c_prev + i * g`"
    )
    assert explain("lstm", "da[1, 5] in random 1 (B=4, I=5, H=3)").endswith(
        "in the f block (rows/columns 3..5)"
    )
    assert (
        explain("gru", "gates[0, 7] in x (B=1, I=2, H=3)")
        == "gates holds r, z, n side by side, in the n block (rows/columns 6..8)"
    )
    assert (
        explain("rnn", "h[0, 1] in fixed 1 (B=2, I=3, H=4)")
        == "h is the line `h = phi(a)` of the forward equations"
    )


def test_json_into_a_missing_folder_is_one_sentence_and_exit_2(tmp_path, capsys):
    write_assignment(tmp_path / "hw", cells=("rnn",))
    assert (
        assignment_cli.main(["grade", str(tmp_path / "hw"), "--json", str(tmp_path / "no" / "g.json")]) == 2
    )
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "does not exist" in err and "Traceback" not in err


def test_hints_backward_gives_the_backward_equations_and_new_reports_the_level(tmp_path, capsys):
    assert assignment_cli.main(["new", "gru", "--out", str(tmp_path / "a"), "--hints", "backward"]) == 0
    assert "backward hints" in capsys.readouterr().out
    assert "dn = dh * (1 - z),   dz = dh * (h_prev - n)" in (tmp_path / "a" / "gru.py").read_text()
    assert assignment_cli.main(["new", "gru", "--out", str(tmp_path / "b")]) == 0
    assert "dz = dh" not in (tmp_path / "b" / "gru.py").read_text()
    assert assignment_cli.main(["new", "gru", "--out", str(tmp_path / "c"), "--format", "notebook"]) == 0
    assert json.loads((tmp_path / "c" / "gru.ipynb").read_text())["metadata"]["minirnn"]["cell"] == "gru"
