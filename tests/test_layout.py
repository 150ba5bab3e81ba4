"""The house rules on size, checked on every source file (STYLE.md, PREAMBLE's standards).

Every ``.py`` file under ``minirnn/``, ``gradcheck/`` and ``benchmarks/``:

* has at most 450 lines;
* has no line over 110 characters (characters, not bytes: a box-drawing character or a Greek letter is one);
* has no function with more than 60 lines of code unless its docstring says why ("It is long because ...",
  "... is longer than 60 lines because ..."; a docstring with both "long" and "because" counts).

Lines of code are the lines of the function's body (after the signature and the docstring) that hold a token of
Python: blank lines and comment-only lines do not count; a nested function's lines count for its parent too.
Each test lists every offender as ``path:line``, so one run shows the whole list.
"""
import ast
import io
import pathlib
import tokenize

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = ("minirnn", "gradcheck", "benchmarks")
MAX_MODULE_LINES = 450
MAX_LINE_CHARS = 110
MAX_FUNCTION_CODE_LINES = 60

SOURCES = sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py")
                 if "__pycache__" not in path.parts)


def _relative(path):
    return path.relative_to(ROOT).as_posix()


def _code_lines(text):
    """The 1-based numbers of the lines that hold a Python token (not only a comment or white space)."""
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
            tokenize.ENCODING, tokenize.ENDMARKER}
    lines = set()
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type not in skip:
            lines.update(range(token.start[0], token.end[0] + 1))
    return lines


def function_lengths(text):
    """``(name, line of def, lines of code, docstring)`` for every function and method in the source ``text``."""
    code = _code_lines(text)
    found = []
    for node in ast.walk(ast.parse(text)):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        docstring = ast.get_docstring(node)
        body = node.body[1:] if docstring is not None else node.body    # the docstring is not code
        if not body:
            found.append((node.name, node.lineno, 0, docstring))
            continue
        span = set(range(body[0].lineno, node.end_lineno + 1))          # the signature is not counted either
        found.append((node.name, node.lineno, len(span & code), docstring))
    return sorted(found, key=lambda entry: entry[1])


def says_why_it_is_long(docstring):
    """True if the docstring gives the reason the house asks of a long function ("long" ... "because")."""
    text = " ".join((docstring or "").lower().split())
    return "long" in text and "because" in text


def test_the_layout_scan_finds_python_files_in_every_package():
    for package in PACKAGES:
        assert any(path.parts[len(ROOT.parts)] == package for path in SOURCES), f"no .py file found under {package}/"


def test_function_lengths_count_code_not_docstring_comments_or_blanks():
    body = "\n".join(f"    x{k} = {k}" for k in range(61))
    source = ('def long_one(\n    a,\n    b,\n):\n    """One line.\n\n    Two.\n    """\n    # why\n\n' + body + "\n"
              "    s = '''a\n\nb'''\n    return s\n")
    [(name, line, count, docstring)] = function_lengths(source)
    # 61 assignments + the 3-line string (its blank line is inside a token) + return; not the 4-line signature
    assert (name, line, count) == ("long_one", 1, 61 + 3 + 1)
    assert not says_why_it_is_long(docstring)
    assert says_why_it_is_long("Train it.\n\nIt is long because the loop is kept in one piece.")
    assert says_why_it_is_long("``fit`` is longer than 60 lines because its step is a closure.")


def test_no_module_is_over_450_lines():
    offenders = []
    for path in SOURCES:
        count = len(path.read_text(encoding="utf-8").splitlines())
        if count > MAX_MODULE_LINES:
            offenders.append(f"{_relative(path)}:{count}: {count} lines (limit {MAX_MODULE_LINES})")
    assert not offenders, "modules over the limit:\n" + "\n".join(offenders)


def long_lines(text):
    """``(line number, characters)`` of every line of ``text`` longer than 110 characters (not bytes)."""
    return [(number, len(line)) for number, line in enumerate(text.splitlines(), start=1)
            if len(line) > MAX_LINE_CHARS]


def test_no_line_is_over_110_characters():
    offenders = [f"{_relative(path)}:{number}: {chars} characters"
                 for path in SOURCES for number, chars in long_lines(path.read_text(encoding="utf-8"))]
    assert not offenders, f"lines over {MAX_LINE_CHARS} characters:\n" + "\n".join(offenders)


def test_every_function_over_60_lines_of_code_says_why():
    offenders = []
    for path in SOURCES:
        for name, line, count, docstring in function_lengths(path.read_text(encoding="utf-8")):
            if count > MAX_FUNCTION_CODE_LINES and not says_why_it_is_long(docstring):
                offenders.append(f"{_relative(path)}:{line}: {name} has {count} lines of code and its docstring "
                                 f"does not say why it is long ('It is long because ...')")
    assert not offenders, "long functions without a reason:\n" + "\n".join(offenders)


def test_line_length_counts_characters_not_bytes():
    box = "\u2502" * MAX_LINE_CHARS                 # 110 characters, 330 bytes in UTF-8
    assert long_lines(f"ok\n{box}\n") == []
    assert long_lines(f"ok\n{box}x\n") == [(2, MAX_LINE_CHARS + 1)]
