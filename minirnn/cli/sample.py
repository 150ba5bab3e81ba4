"""``minirnn sample CHECKPOINT``: text from a trained character model."""

from __future__ import annotations

from ..training import recipes as experiments
from ..training.checkpoint import load_checkpoint, read_checkpoint

#: Below this (and above 0) the logits divided by the temperature can overflow to inf; 0 is greedy.
MIN_TEMPERATURE = 1e-6


def add_parser(sub) -> None:
    """Declare ``sample`` on the ``minirnn`` subparsers."""
    s = sub.add_parser("sample", help="generate text from a trained character model")
    s.add_argument("checkpoint", help="a checkpoint.npz written by `minirnn train char`")
    s.add_argument("--prime", default="\n", help="text to start from (default a newline)")
    s.add_argument("--length", type=int, default=300, help="characters to generate (default 300)")
    s.add_argument(
        "--temperature",
        type=float,
        default=0.8,
        help="softmax temperature: 0 = greedy, else at least 1e-6 (default 0.8)",
    )
    s.add_argument("--seed", type=int, default=0, help="seed of the draws (default 0)")
    s.set_defaults(func=cmd_sample)


def cmd_sample(args) -> int:
    """Rebuild the character model of a checkpoint and print ``--length`` characters after ``--prime``."""
    if args.length < 0:
        raise SystemExit(f"--length must be >= 0, got {args.length}")
    if not (args.temperature == 0 or MIN_TEMPERATURE <= args.temperature < float("inf")):
        raise SystemExit(
            f"--temperature must be 0 (greedy) or a finite number >= {MIN_TEMPERATURE:g} (divided by "
            f"a smaller one the logits overflow), got {args.temperature}"
        )
    try:
        ck = read_checkpoint(args.checkpoint)
        config = ck["meta"].get("model_config")
        if not config or config.get("class") != "CharLM" or not isinstance(config.get("vocab"), str):
            raise SystemExit(
                f"{args.checkpoint} is not a character model checkpoint (train one with `minirnn train char`)"
            )
        try:
            model = experiments.build_model(config)
        except (TypeError, ValueError) as e:
            raise SystemExit(
                f"{args.checkpoint}: its model_config {sorted(config)} does not describe a model "
                f"this minirnn can build ({e}); was it written by another version?"
            ) from None
        load_checkpoint(args.checkpoint, model)
        text = model.sample(args.prime, args.length, temperature=args.temperature, seed=args.seed)
    except (ValueError, FileNotFoundError) as e:
        raise SystemExit(f"error: {e}") from None
    print(args.prime + text)
    return 0
