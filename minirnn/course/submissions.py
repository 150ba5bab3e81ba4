"""Reading a submission (a folder, a zip, notebooks or ``.py`` files) into plain text, and flagging what
looks wrong.

Nothing here runs student code. A notebook is read as JSON and only its code cells are kept; a zip is checked
entry by entry (no absolute paths, no ``..``, no links, at most :data:`MAX_FILES` files and :data:`MAX_BYTES`
bytes uncompressed, judged from the directory before anything is inflated), and only ``.py``/``.ipynb`` files
are read from it. Flags are for the instructor: a file that imports ``minirnn`` or names it in its code, and
a part whose code is the reference's (same normalised syntax tree: docstrings dropped, local names
renumbered).

Example:
    >>> sub = Submission("demo", {"rnn.py": "from minirnn.cells.rnn import *\\n"})
    >>> flags(sub)
    ['rnn.py imports minirnn']
"""

from __future__ import annotations

import ast
import inspect
import json
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..cells import registry
from .parts import CELLS, part_names

MAX_FILES = 200
MAX_BYTES = 20 * 2**20  # uncompressed bytes of one submission
MAX_NOTEBOOK = 20 * 2**20
SOURCE_SUFFIXES = (".py", ".ipynb")
DYNAMIC = ("exec", "eval", "compile", "__import__")


@dataclass
class Submission:
    """One student's files as text (``{"rnn.py": ...}``; notebooks already turned into ``.py``) and notes."""

    name: str
    files: dict
    notes: list = field(default_factory=list)

    def cells(self) -> list[str]:
        """The cells whose file is in the submission, in the kit's order."""
        return [cell for cell in CELLS if f"{registry.get(cell).module}.py" in self.files]


def notebook_code(text: str, label: str = "notebook") -> str:
    """The code cells of a notebook's JSON, joined; IPython magics and shell lines (``%``, ``!``) are
    dropped."""
    if len(text) > MAX_NOTEBOOK:
        raise ValueError(f"{label} is larger than {MAX_NOTEBOOK} bytes")
    try:
        nb = json.loads(text)
        cells = nb["cells"]
    except (ValueError, KeyError, TypeError):
        raise ValueError(f"{label} is not a Jupyter notebook (no JSON with a list of cells)") from None
    chunks = []
    for cell in cells if isinstance(cells, list) else []:
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            source = cell.get("source", "")
            source = "".join(source) if isinstance(source, list) else str(source)
            if source.startswith("# Self-check (public)"):
                continue  # the public check is not part of the answer
            lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
            chunks.append("\n".join(lines))
    return "\n\n".join(chunks) + "\n"


def _notebook_cell(name: str, text: str) -> str | None:
    """The cell a notebook is for: its ``metadata.minirnn.cell``, else its file name (``lstm.ipynb``)."""
    try:
        meta = json.loads(text).get("metadata", {}).get("minirnn", {})
        if meta.get("cell") in CELLS:
            return meta["cell"]
    except (ValueError, AttributeError):
        pass
    stem = PurePosixPath(name).stem
    return stem if stem in CELLS else None


def _add(files: dict, name: str, text: str, notes: list) -> None:
    name = PurePosixPath(name).name
    if name.endswith(".ipynb"):
        cell = _notebook_cell(name, text)
        if cell is None:
            notes.append(f"{name}: a notebook for no cell (name it rnn.ipynb, lstm.ipynb or gru.ipynb)")
            return
        files[f"{registry.get(cell).module}.py"] = notebook_code(text, name)
    elif name.endswith(".py"):
        files.setdefault(name, text)  # a .py next to its notebook wins


def read_zip(path) -> dict:
    """``{file name: text}`` of the ``.py``/``.ipynb`` files in a zip, refusing crafted archives before
    inflating."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise ValueError(f"{path} is not a readable zip file ({e})") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_FILES:
            raise ValueError(f"{path} holds {len(infos)} entries, more than {MAX_FILES}")
        total = sum(info.file_size for info in infos)
        if total > MAX_BYTES:
            raise ValueError(f"{path} would inflate to {total} bytes, more than {MAX_BYTES}")
        out = {}
        for info in infos:
            parts = PurePosixPath(info.filename.replace("\\", "/")).parts
            if info.filename.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
                raise ValueError(f"{path} holds the unsafe path {info.filename!r}")
            if stat.S_ISLNK(info.external_attr >> 16):
                raise ValueError(f"{path} holds the link {info.filename!r}")
            if info.is_dir() or not info.filename.endswith(SOURCE_SUFFIXES) or "__MACOSX" in parts:
                continue
            with archive.open(info) as member:
                data = member.read(info.file_size + 1)
            if len(data) > info.file_size:
                raise ValueError(f"{path}: {info.filename!r} inflates beyond its declared size")
            out[info.filename] = data.decode("utf-8", errors="replace")
        return out


def load(path, name: str | None = None) -> Submission:
    """A folder, a zip, a notebook or a ``.py`` file -> :class:`Submission` (FileNotFoundError /
    ValueError)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"submission must be a folder, zip, notebook or .py file, got {str(path)!r} (it does not exist)"
        )
    sub = Submission(name or path.stem if path.is_file() else name or path.name, {})
    if path.is_dir():
        inner = [p for p in path.iterdir() if p.is_dir() and not p.name.startswith((".", "__"))]
        if len(inner) == 1 and not any(p.suffix in SOURCE_SUFFIXES for p in path.iterdir()):
            return load(inner[0], name=sub.name)  # a zip that held one folder, unpacked
        files = [p for p in sorted(path.iterdir()) if p.is_file() and p.suffix in SOURCE_SUFFIXES]
        if sum(p.stat().st_size for p in files) > MAX_BYTES:
            raise ValueError(
                f"submission {str(path)!r} holds more than {MAX_BYTES} bytes of .py/.ipynb files"
            )
        entries = {p.name: p.read_text(errors="replace") for p in files}
    elif path.suffix == ".zip":
        entries = read_zip(path)
    elif path.suffix in SOURCE_SUFFIXES:
        entries = {path.name: path.read_text(errors="replace")}
    else:
        raise ValueError(f"submission must be a folder, .zip, .ipynb or .py file, got {str(path)!r}")
    for entry in sorted(entries, key=lambda e: e.endswith(".ipynb")):
        _add(sub.files, entry, entries[entry], sub.notes)
    return sub


# -- flags for the instructor --------------------------------------------------------------------------------
class _Renumber(ast.NodeTransformer):
    def __init__(self):
        self.names = {}

    def _name(self, name):
        return self.names.setdefault(name, f"v{len(self.names)}")

    def visit_Name(self, node):
        return ast.Name(id=self._name(node.id), ctx=node.ctx)

    def visit_arg(self, node):
        return ast.arg(arg=self._name(node.arg))


def normalised(node: ast.FunctionDef) -> str:
    """A function's syntax tree without its docstring and with every local name renumbered in order of use."""
    node = ast.parse(ast.unparse(node)).body[0]
    if ast.get_docstring(node) is not None:
        node.body = node.body[1:] or [ast.Pass()]
    node.name = "f"
    return ast.dump(_Renumber().visit(node), annotate_fields=False)


def _mentions_minirnn(tree) -> bool:
    kinds = (ast.Module, ast.FunctionDef, ast.ClassDef)
    docstrings = {
        id(n.body[0].value) for n in ast.walk(tree) if isinstance(n, kinds) and ast.get_docstring(n)
    }
    return any(
        isinstance(n, ast.Constant)
        and isinstance(n.value, str)
        and "minirnn" in n.value
        and id(n) not in docstrings
        for n in ast.walk(tree)
    )


def flags(sub: Submission) -> list[str]:
    """Sentences for the instructor about what in ``sub`` does not look like the student's own work."""
    out = []
    for name, text in sorted(sub.files.items()):
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            continue
        imports = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names] + [
            n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level == 0
        ]
        if any(m == "minirnn" or m.startswith("minirnn.") for m in imports):
            out.append(f"{name} imports minirnn")
        elif _mentions_minirnn(tree):
            out.append(f"{name} names minirnn in its code")
        dynamic = sorted(
            {
                n.func.id
                for n in ast.walk(tree)
                if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in DYNAMIC
            }
            | {m for m in imports if m in ("importlib", "ctypes", "gc")}
        )
        if dynamic:
            out.append(
                f"{name} uses {', '.join(dynamic)} (code or objects reached at run time: worth a look)"
            )
    for cell in sub.cells():
        text = sub.files[f"{registry.get(cell).module}.py"]
        try:
            functions = {n.name: n for n in ast.parse(text).body if isinstance(n, ast.FunctionDef)}
        except (SyntaxError, ValueError):
            continue
        reference = registry.get(cell).implementation("numpy")
        same = [
            part
            for part in part_names(cell)
            if part in functions
            and normalised(functions[part])
            == normalised(ast.parse(inspect.getsource(getattr(reference, part))).body[0])
        ]
        if same:
            which = (
                f"all {len(same)} parts are"
                if len(same) == len(part_names(cell))
                else f"{', '.join(same)} {'is' if len(same) == 1 else 'are'}"
            )
            out.append(f"{cell}: {which} the reference's code (same normalised syntax tree)")
    return out
