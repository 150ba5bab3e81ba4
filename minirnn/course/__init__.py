"""The course kit: student skeletons generated from ``minirnn/cells`` and a grader that student code cannot
forge.

    from minirnn import course
    course.write_assignment("hw3", cells=("lstm",))                    # student files with TODO stubs
    course.write_assignment("hw3-solution", cells=("lstm",), with_solution=True, format="notebook")
    result = course.grade("hw3")                                           # -> GradeResult (table, JSON,
    score)

The student files import only NumPy. The grader computes the reference in its own process and runs the
student's code in a sandbox (``sandbox.py``) that cannot import minirnn and sends back plain data only.
``minirnn assignment new | grade | grade-all | gradescope`` is the command-line side
(``minirnn/cli/assignment.py``).
"""

from . import grader
from .grader import grade, grade_submission
from .parts import CELLS, HINT_LEVELS, PARTS, part_names
from .results import GradeResult, PartResult
from .skeleton import FORMATS, render_cell, write_assignment

__all__ = [
    "write_assignment",
    "render_cell",
    "grade",
    "grade_submission",
    "GradeResult",
    "PartResult",
    "CELLS",
    "PARTS",
    "part_names",
    "HINT_LEVELS",
    "FORMATS",
    "grader",
]
