"""The README's links into the code land where they say: a file that exists, and a #L anchor on the named function."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_relative_link_points_at_a_file_or_folder_of_the_repository():
    missing = [target for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", README)
               if not target.startswith("http") and not (ROOT / target).exists()]
    assert not missing, missing


def test_line_anchors_land_on_the_function_the_link_names():
    links = re.findall(r"\[([^\]]+)\]\(([^)#]+)#L(\d+)\)", README)
    assert links, "the README links the LSTM's forward and backward by line"
    names = {"forward": "def forward(", "backward": "def backward(", "one step back": "def backward_step("}
    for text, path, line in links:
        source = (ROOT / path).read_text(encoding="utf-8").splitlines()
        assert source[int(line) - 1].startswith(names[text]), (text, path, line, source[int(line) - 1])
