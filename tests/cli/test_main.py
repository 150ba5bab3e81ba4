"""The ``minirnn`` entry point: --version, every command in --help, every default shown, and every mistake one
``minirnn <command>: <sentence>`` line with status 2."""
import argparse
import json
import os

import numpy as np
import pytest

import gradcheck.cli
from minirnn.cli import build_parser, main, sample
from minirnn.nn import Linear
from minirnn.training import recipes
from minirnn.training.checkpoint import save_checkpoint


def _parsers(parser):
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _parsers(sub)


def test_version_and_every_command_in_help(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out.startswith("minirnn 0.")
    text = build_parser().format_help()
    for command in ("demo", "vanishing", "bench", "train", "sample", "assignment", "gradcheck"):
        assert f"    {command}" in text, text


@pytest.mark.parametrize("parser", list(_parsers(build_parser())) + [gradcheck.cli.build_parser()],
                         ids=lambda p: p.prog)
def test_every_help_shows_the_defaults(parser):
    formatter = parser._get_formatter()
    for action in parser._actions:
        if not action.option_strings or action.default in (None, False, argparse.SUPPRESS) \
                or action.help == argparse.SUPPRESS:
            continue
        shown = formatter._get_help_string(action) if hasattr(formatter, "_get_help_string") else action.help
        assert "default" in (shown or ""), f"{parser.prog} {action.option_strings[0]}: {action.help!r}"


def test_any_value_error_of_a_command_is_one_line_with_status_2(monkeypatch, capsys):
    def broken(args):
        raise ValueError("hidden_size must be a positive integer,\n   got -1")

    monkeypatch.setattr(sample, "cmd_sample", broken)
    assert main(["sample", "x.npz"]) == 2
    assert capsys.readouterr().err == "minirnn sample: hidden_size must be a positive integer, got -1\n"


def test_an_os_error_of_a_command_is_one_line(monkeypatch, capsys):
    def broken(args):
        raise PermissionError(13, "Permission denied", "/root/x")

    monkeypatch.setattr(sample, "cmd_sample", broken)
    assert main(["sample", "x.npz"]) == 2
    assert capsys.readouterr().err == "minirnn sample: Permission denied (/root/x)\n"


@pytest.fixture
def char_checkpoint(tmp_path):
    exp = recipes.char("gru", T=8, hidden=6, batch=2, seed=0, text="hello world, hello there. " * 40)
    meta = {"task": "char", "model_config": exp.model_config}
    return save_checkpoint(tmp_path / "char.npz", exp.model, meta=meta), exp


def test_sample_with_a_tiny_temperature_is_refused_and_zero_is_greedy(char_checkpoint, capsys):
    path, _ = char_checkpoint
    assert main(["sample", path, "--temperature", "1e-320"]) == 2
    err = capsys.readouterr().err
    assert "--temperature must be 0 (greedy) or a finite number >= 1e-06" in err and "NaN" not in err
    assert main(["sample", path, "--temperature", "0", "--length", "5", "--prime", "hello"]) == 0


def test_sample_with_an_unknown_config_key_is_one_sentence(tmp_path, char_checkpoint, capsys):
    _, exp = char_checkpoint
    meta = {"task": "char", "model_config": dict(exp.model_config, attention_heads=4)}
    path = save_checkpoint(tmp_path / "odd.npz", exp.model, meta=meta)
    assert main(["sample", path]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "does not describe a model this minirnn can build" in err, err
