"""The README's code runs as printed, and its set-up commands are the ones CI runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_python_example_runs(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)
    assert blocks, "the README has no Python example"
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})
    assert "weight_hh_l0" in capsys.readouterr().out


def test_setup_commands_install_and_run():
    commands = re.findall(r"```bash\n(.*?)```", README, flags=re.DOTALL)
    lines = [line.strip() for block in commands for line in block.strip().splitlines()]
    assert "pip install -r requirements.txt && pytest" in lines
    assert any(line.startswith("pip install -r requirements.txt && jupyter-book build")
               for line in lines)
    assert "pytest" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
