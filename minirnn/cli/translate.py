"""``minirnn translate CHECKPOINT TEXT``: the output of a trained sequence-to-sequence model and its
attention.

    minirnn train translate --attention additive --out runs/dates
    minirnn translate runs/dates/checkpoint.npz "the 3rd of March 2001" --beam 5

prints the output, then the attention matrix as text: one row per output symbol, one column per source
character, each weight as a digit (0.35 -> 3; '.' below 0.05, '#' at 0.95 and above).
"""

from __future__ import annotations

import numpy as np

from ..training import recipes
from ..training.checkpoint import load_checkpoint, read_checkpoint

__all__ = ["add_parser", "cmd_translate", "attention_text"]


def add_parser(sub) -> None:
    """Declare ``translate`` on the ``minirnn`` subparsers."""
    s = sub.add_parser(
        "translate",
        help="translate a string with a trained sequence-to-sequence model",
        description="Print a trained Seq2Seq model's output for TEXT and its attention matrix.",
    )
    s.add_argument("checkpoint", help="a checkpoint.npz written by `minirnn train translate`")
    s.add_argument("text", help='the source string, e.g. "the 3rd of March 2001"')
    s.add_argument("--beam", type=int, default=1, help="beam width; 1 = greedy decoding (default 1)")
    s.add_argument(
        "--length-penalty",
        type=float,
        default=1.0,
        help="beam search: divide each output's "
        "log-probability by its length to this power (default 1; 0 = none)",
    )
    s.add_argument("--max-len", type=int, default=None, help="longest output (default 2 x len(TEXT) + 10)")
    s.set_defaults(func=cmd_translate)


def attention_text(weights, source: str, output_tokens) -> str:
    """The attention matrix (steps, S) as text: a header of source characters, a row per output symbol.

    Example:
        >>> print(attention_text(np.array([[0.9, 0.1], [0.0, 1.0]]), "ab", ["b", "</s>"]))
        a b b    9 1
        </s> . #
    """
    width = max([len(t) for t in output_tokens] + [1])
    digit = lambda w: "." if w < 0.05 else ("#" if w >= 0.95 else str(int(w * 10)))
    lines = [" " * width + " " + " ".join(source)]
    for token, row in zip(output_tokens, weights):
        lines.append(f"{token:<{width}} " + " ".join(digit(w) for w in row))
    return "\n".join(lines)


def cmd_translate(args) -> int:
    """Rebuild the checkpoint's Seq2Seq, translate ``args.text``, print the output and the attention."""
    if args.beam < 1:
        raise SystemExit(f"--beam must be a positive integer, got {args.beam}")
    if not args.length_penalty >= 0:
        raise SystemExit(f"--length-penalty must be a number >= 0, got {args.length_penalty}")
    if args.max_len is not None and args.max_len < 1:
        raise SystemExit(f"--max-len must be a positive integer, got {args.max_len}")
    try:
        config = read_checkpoint(args.checkpoint)["meta"].get("model_config")
        if not config or config.get("class") != "Seq2Seq":
            raise SystemExit(
                f"error: {args.checkpoint} is not a translation checkpoint (train one with "
                f"`minirnn train translate`)"
            )
        model = recipes.build_model(config)
        load_checkpoint(args.checkpoint, model)
        output, weights = model.translate(
            args.text, max_len=args.max_len, beam=args.beam, length_penalty=args.length_penalty
        )
    except (ValueError, FileNotFoundError) as e:
        raise SystemExit(f"error: {e}") from None
    print(output)
    if model.attention_kind is None:
        print("(this model has no attention)")
        return 0
    tokens = list(output) + ["</s>"]
    print(attention_text(weights[: len(tokens)], args.text, tokens))
    return 0
