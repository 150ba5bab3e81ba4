"""The course kit: student skeletons generated from ``minirnn/cells`` and a grader that checks them against the cells.

    from minirnn import course
    course.write_assignment("hw3", cells=("lstm",))                    # student files with TODO stubs
    course.write_assignment("hw3-solution", cells=("lstm",), with_solution=True)
    result = course.grade("hw3")                                           # -> GradeResult (table, JSON, score)

The student files import only NumPy; the grader imports the student's files and the reference cells of minirnn.
``minirnn assignment new`` and ``minirnn assignment grade`` are the command-line side (``minirnn/cli/assignment.py``).
"""
from .grader import GradeResult, PartResult, grade
from .skeleton import CELLS, PARTS, part_names, render_cell, write_assignment

__all__ = ["write_assignment", "render_cell", "grade", "GradeResult", "PartResult", "CELLS", "PARTS", "part_names"]
