"""The README's "NINE on your own data" block runs as it stands and gives a matched embedding."""

import ast
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _example() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("## NINE on your own data", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, "the section should hold exactly one python block"
    return blocks[0]


def test_the_example_is_at_most_15_lines():
    assert len(_example().strip().splitlines()) <= 15


def test_the_readme_example_runs_and_matches_the_prior(monkeypatch, capsys):
    monkeypatch.setenv("TQDM_DISABLE", "1")
    exec(compile(_example(), str(README), "exec"), {"__name__": "readme_example"})
    printed = capsys.readouterr().out.strip().splitlines()[-1]
    ratios = ast.literal_eval(printed)
    assert set(ratios) == {"ks", "swd", "c2st"}
    # the README quotes these numbers, on one thread (tests/conftest.py); another machine's floating point may
    # change the last digit
    quoted = ast.literal_eval(re.search(r"It printed `(\{.*?\})`", README.read_text(encoding="utf-8")).group(1))
    assert all(abs(ratios[k] - quoted[k]) <= 0.05 for k in quoted), f"the README quotes {quoted}, the block prints {printed}"
    assert all(r <= 1.0 for r in ratios.values()), ratios
