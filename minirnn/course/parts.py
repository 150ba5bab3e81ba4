"""What is graded: the parts of each cell file, their points and hints, and how each part is called.

The sequence and one-step functions (``step_forward``, ``step_backward``, ``forward``, ``backward``) are
described from the cell contract (``minirnn/cells/registry.py``: states, parameters, options), so a new cell
needs no line here for them. The helpers inside the time loop differ from cell to cell in their arguments;
:data:`HELPERS` says how each is called, as data. A call is ``{"name", "args", "kwargs", "returns"}`` (see
``sandbox_child``), whose names refer to the quantities of a case (``cases.py``): ``x``, ``x_t`` (= x[0]),
``h0``/``h_prev``, ``dh``, ``dh_n``, ``W_ih``, ...

Example:
    >>> part_names("gru")[:2], points("lstm", "gate_gradients")
    (['step_forward', 'step_backward'], 4)
    >>> task_spec("rnn", "step_forward")["part"]["args"]
    ['x_t', 'h_prev', 'W_ih', 'W_hh', 'b_ih', 'b_hh']
"""

from __future__ import annotations

from ..cells import registry

CELLS = registry.BASE_CELLS  # the base cells, not their variants
HINT_LEVELS = (
    "forward",
    "backward",
)  # the student files carry the forward equations; "backward" adds the rest
WITHHELD = ("backward_step",)  # not graded, and its body is a backward step: not in the student's file

# (part, points, hint) per cell, in the order of the file. The hints are prose only: no line of the solution.
# These are the hints of the easier version (--hints backward); FORWARD_ONLY_HINTS replaces those that
# tell the derivation when the student files carry only the forward equations.
PARTS = {
    "rnn": [
        (
            "step_forward",
            1,
            "Project the input with W_ih and b_ih, then let recurrent_step finish the "
            "step. The cache is yours to choose: keep whatever step_backward will need.",
        ),
        (
            "step_backward",
            2,
            "Read 'Backward, one step' in the module docstring. activation_slope gives "
            "phi'(a) from h alone. Each weight gradient has the shape of its weight; the "
            "two bias gradients are equal.",
        ),
        (
            "recurrent_step",
            2,
            "Add the recurrent term (h_prev times W_hh transposed, plus b_hh) to the "
            "projected input and apply the nonlinearity with activate().",
        ),
        (
            "forward",
            2,
            "Project all T inputs with one matrix product before the loop; loop over t with "
            "recurrent_step. With a mask, a padded row keeps its previous state and outputs "
            "zeros (as_step_mask turns the (T, B) mask into 0/1 of shape (T, B, 1)). Return "
            "the cache that backward needs.",
        ),
        (
            "backward",
            3,
            "Walk t from T-1 down to 0 carrying dh; at each step add dout[t], multiply by "
            "phi'. A padded row passes its dh straight back, untouched. Collect the "
            "pre-activation gradients of all steps and compute dx and the weight and bias "
            "gradients after the loop with matrix products.",
        ),
    ],
    "lstm": [
        (
            "step_forward",
            1,
            "Project the input with W_ih and b_ih, then let recurrent_step finish the "
            "step. The cache is yours to choose: keep whatever step_backward will need.",
        ),
        (
            "step_backward",
            1,
            "recurrent_step_backward gives the pre-activation gradient da; from it, the "
            "input and the weight and bias gradients are matrix products and sums over "
            "the batch.",
        ),
        (
            "recurrent_step",
            3,
            "Compute the (B, 4H) pre-activations, split them in four blocks of H "
            "columns in the order i, f, g, o, apply sigmoid or tanh, then update c and "
            "h as in the docstring. Return the cache exactly as documented: "
            "recurrent_step_backward is graded with it.",
        ),
        (
            "recurrent_step_backward",
            1,
            "gate_gradients does the elementwise work; the gradient reaching h_prev goes back through W_hh.",
        ),
        (
            "gate_gradients",
            4,
            "Follow 'Backward, one step' in the module docstring line by line: the "
            "gradient reaching c has two sources (dc and the path through h). Each "
            "gate's pre-activation gradient is its gradient times the derivative of its "
            "nonlinearity; concatenate them in the order i, f, g, o.",
        ),
        (
            "forward",
            2,
            "Project all T inputs with one matrix product before the loop; loop over t with "
            "recurrent_step, keeping the states, gates and tanh(c) of every step for backward. "
            "With a mask, a padded row keeps h and c and outputs zeros (as_step_mask makes the "
            "mask (T, B, 1) of 0/1).",
        ),
        (
            "backward",
            3,
            "Walk t from T-1 down to 0 carrying dh and dc; add dout[t] to dh; use "
            "gate_gradients for the step. A padded row passes dh and dc straight back. "
            "Compute dx and the weight and bias gradients after the loop from the "
            "pre-activation gradients of all steps.",
        ),
    ],
    "gru": [
        (
            "step_forward",
            1,
            "Project the input with W_ih and b_ih, then let recurrent_step finish the "
            "step. The cache is yours to choose: keep whatever step_backward will need.",
        ),
        (
            "step_backward",
            1,
            "recurrent_step_backward gives the gradients of the two projections; note "
            "that W_ih and W_hh (and b_ih and b_hh) get different ones, because r "
            "multiplies only the hidden projection of n.",
        ),
        (
            "recurrent_step",
            3,
            "Project h_prev with W_hh and b_hh and split both projections in blocks r, "
            "z, n of H columns. The reset gate multiplies the hidden block of n (bias "
            "included) before tanh. Return h, the gates [r, z, n] concatenated and the "
            "hidden block of n, as documented.",
        ),
        (
            "recurrent_step_backward",
            1,
            "gate_gradients does the elementwise work; add the path through W_hh to the direct shortcut.",
        ),
        (
            "gate_gradients",
            4,
            "Follow 'Backward, one step' in the module docstring: dh reaches n through "
            "(1 - z) and z through (h_prev - n); r's gradient comes from the hidden "
            "block of n. The two returned (B, 3H) arrays differ only in the n block, "
            "which the hidden side sees multiplied by r.",
        ),
        (
            "forward",
            2,
            "Project all T inputs with one matrix product before the loop; loop over t with "
            "recurrent_step, keeping states, gates and the hidden block of n for backward. "
            "With a mask, a padded row keeps its state and outputs zeros (as_step_mask makes "
            "the mask (T, B, 1) of 0/1).",
        ),
        (
            "backward",
            3,
            "Walk t from T-1 down to 0 carrying dh; add dout[t]; use recurrent_step_backward "
            "for the step. A padded row passes dh straight back. Compute dx and the weight "
            "and bias gradients after the loop; W_ih and W_hh get different pre-activation "
            "gradients.",
        ),
    ],
}

_DERIVE = (
    "Derive it from the forward equations in the module docstring: write the chain rule through every line "
    "of the forward step, from the last line back to the first."
)
FORWARD_ONLY_HINTS = {
    "rnn": {
        "step_backward": "Derive the gradients from 'Forward, one step' in the module docstring; "
        "activation_slope gives phi'(a) from h alone. Each weight gradient has the shape of its "
        "weight.",
        "backward": "Walk t from T-1 down to 0 carrying the gradient of the carried state; at each step add "
        "dout[t]. A padded row passes its gradient straight back, untouched. Compute dx and the weight "
        "gradients after the loop with matrix products.",
    },
    "lstm": {"gate_gradients": _DERIVE + " The cell state c is reached by two paths."},
    "gru": {
        "step_backward": "recurrent_step_backward gives the gradients of the two projections, "
        "x W_ih^T + b_ih and h_prev W_hh^T + b_hh: they need not be equal.",
        "gate_gradients": _DERIVE + " h_prev is reached directly as well as through the projection.",
    },
}

# Docstrings that say a step of the derivation, as the student files give them when only the forward
# is hinted.
FORWARD_ONLY_DOCS = {
    "gru": {
        "gate_gradients": "From dh (B, H) to the gradients of ``x_proj`` and ``h_proj`` (B, 3H each) and "
        "the part of dh_prev (B, H) that does not go through W_hh."
    },
}
BACKWARD_NOTE = (
    "Backward: derive it from the forward equations above; each function's docstring says what it "
    "returns, with shapes. (The easier version of this assignment, ``--hints backward``, gives the "
    "backward equations.)"
)

# How the helpers inside the time loop are called (the one thing about a cell the registry does not say).
HELPERS = {
    "rnn": {"recurrent_step": {"args": ["x_proj", "h_prev", "W_hh", "b_hh", "nonlinearity"], "returns": "h"}},
    "lstm": {
        "recurrent_step": {
            "args": ["x_proj", "h_prev", "c_prev", "W_hh", "b_hh"],
            "returns": ["h", "c", {"as": "step_cache", "of": ["", "", "", "gates", "tanh_c"]}],
        },
        "recurrent_step_backward": {
            "args": ["dh", "dc", "step_cache"],
            "returns": ["da", "dh_prev", "dc_prev"],
        },
        "gate_gradients": {"args": ["dh", "dc", "c_prev", "gates", "tanh_c"], "returns": ["da", "dc_prev"]},
    },
    "gru": {
        "recurrent_step": {"args": ["x_proj", "h_prev", "W_hh", "b_hh"], "returns": ["h", "gates", "hn"]},
        "recurrent_step_backward": {
            "args": ["dh", "h_prev", "W_hh", "gates", "hn"],
            "returns": ["dx_proj", "dh_proj", "dh_prev"],
        },
        "gate_gradients": {
            "args": ["dh", "h_prev", "gates", "hn"],
            "returns": ["dx_proj", "dh_proj", "dh_direct"],
        },
    },
}
# The helpers each part calls in the reference. While a part is graded, these are answered by the reference
# (in the grader's process), so a bug costs only the part it is in; a part never gets an answer for a part
# it is not above, and a helper is graded before every part that calls it.
USES = {
    "rnn": {"step_forward": ("recurrent_step",), "forward": ("recurrent_step",)},
    "lstm": {
        "step_forward": ("recurrent_step",),
        "forward": ("recurrent_step",),
        "step_backward": ("recurrent_step_backward",),
        "recurrent_step_backward": ("gate_gradients",),
        "backward": ("gate_gradients",),
    },
    "gru": {
        "step_forward": ("recurrent_step",),
        "forward": ("recurrent_step",),
        "step_backward": ("recurrent_step_backward",),
        "recurrent_step_backward": ("gate_gradients",),
        "backward": ("recurrent_step_backward",),
    },
}
OWN_FORWARD = {
    "step_backward": "step_forward",
    "backward": "forward",
}  # backward parts run on the student's cache


def check_cell(cell: str) -> None:
    """A ValueError naming the cells there are when ``cell`` is not one of them."""
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")


def part_names(cell: str) -> list[str]:
    """The graded functions of ``cell`` in file order, e.g. ``part_names("rnn")[0] == "step_forward"``."""
    check_cell(cell)
    return [name for name, _, _ in PARTS[cell]]


def points(cell: str, part: str) -> int:
    """The points of one part."""
    return dict((name, pts) for name, pts, _ in PARTS[cell])[part]


def hint(cell: str, part: str, hints: str = "forward") -> str:
    """The TODO hint of a part for the hint level (``"forward"``: no step of the derivation;
    ``"backward"``)."""
    if hints not in HINT_LEVELS:
        raise ValueError(f"hints must be one of {HINT_LEVELS}, got {hints!r}")
    text = dict((name, h) for name, _, h in PARTS[cell])[part]
    return FORWARD_ONLY_HINTS[cell].get(part, text) if hints == "forward" else text


def helpers(cell: str, part: str) -> tuple:
    """The helpers the reference answers while ``part`` is graded: its own, and its own forward's."""
    own = USES[cell].get(part, ())
    forward = USES[cell].get(OWN_FORWARD.get(part, ""), ())
    return own + tuple(h for h in forward if h not in own)


def grading_order(cell: str) -> list[str]:
    """The parts with every helper before the parts that call it (so no answer of the reference is ever
    reused)."""
    order = []

    def visit(part):
        for helper in helpers(cell, part):
            visit(helper)
        if part not in order:
            order.append(part)

    for part in part_names(cell):
        visit(part)
    return order


def _sequence_calls(cell) -> dict:
    """The calls of step_forward, step_backward, forward and backward, from the cell contract."""
    states = cell.states
    weights = [arg for _, arg in cell.parameters]
    options = {name: name for name in cell.options}
    d_weights = [f"d{w}" for w in weights]
    return {
        "step_forward": {
            "args": ["x_t", *(f"{s}_prev" for s in states), *weights],
            "kwargs": options,
            "returns": [*states, {"as": "cache"}],
        },
        "step_backward": {
            "args": [*(f"d{s}" for s in states), "cache"],
            "returns": ["dx", *(f"d{s}_prev" for s in states), *d_weights],
        },
        "forward": {
            "args": ["x", *(f"{s}0" for s in states), *weights],
            "kwargs": {"mask": "mask", **options},
            "returns": ["out", *(f"{s}_n" for s in states), {"as": "cache"}],
        },
        "backward": {
            "args": ["dout", *(f"d{s}_n" for s in states), "cache"],
            "returns": {"keys": {key: f"d{key}" for key in ("x", *(f"{s}0" for s in states), *weights)}},
        },
    }


def calls(cell_name: str) -> dict:
    """Every part's call (and the helpers') by name: ``{"name", "args", "kwargs", "returns"}``."""
    out = {**_sequence_calls(registry.get(cell_name)), **HELPERS[cell_name]}
    return {name: {"name": name, "kwargs": {}, **spec} for name, spec in out.items()}


def graded_names(returns) -> list[str]:
    """The outputs a part is marked on: every name in its ``returns`` except the caches it binds whole."""
    if isinstance(returns, str):
        return [returns] if returns else []
    if isinstance(returns, dict):
        return graded_names(returns.get("of", "")) if "as" in returns else list(returns["keys"].values())
    return [name for item in returns for name in graded_names(item)]


def task_spec(cell_name: str, part: str) -> dict:
    """Everything the sandbox needs to run one part, except the cases: the call, its own forward, the
    gradcheck."""
    every = calls(cell_name)
    spec = {
        "module": registry.get(cell_name).module,
        "part": every[part],
        "graded": graded_names(every[part]["returns"]),
        "oracles": list(helpers(cell_name, part)),
        "after": None,
        "gradcheck": None,
    }
    if part in OWN_FORWARD:
        forward = every[OWN_FORWARD[part]]
        spec["after"] = forward
        produced = [n for n in graded_names(forward["returns"])]  # h, c  or  out, h_n, c_n
        upstream = [a for a in every[part]["args"] if a != "cache"]  # dh, dc  or  dout, dh_n, dc_n
        grads = graded_names(every[part]["returns"])  # dx, dh_prev, ...  or  dx, dh0, ...
        wrt = [a for a in forward["args"]]  # x_t, h_prev, ..., W_ih, ...
        spec["gradcheck"] = {
            "pairs": list(zip(produced, upstream)),
            "wrt": wrt,
            "grads": dict(zip(wrt, grads)),
            "case": 2,
        }
    return spec
