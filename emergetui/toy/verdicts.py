"""What emergetui's own analysis says about a built toy ladder, for RESULTS.md.

The measured tables of :mod:`emergetui.toy.measure` are the raw curves; the
claims of the demo (a threshold, a mirage, in-context learning that appears
with scale) are the analysis's verdicts on them. So after building, the
default experiment is run exactly as ``emergetui --batch`` runs it (runner,
worker per rung, store, analysis), on the folder just built, and its findings
and verdict lines go into RESULTS.md.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from emergetui.toy.files import MANIFEST

if TYPE_CHECKING:
    from emergetui.report.rundoc import RunDocument


def default_run_document(directory: str | Path, threads: int | None = 1) -> RunDocument:
    """The run document of the default experiment on the ladder built in ``directory``."""
    from emergetui.api import run
    from emergetui.run.spec import ExperimentSpec

    manifest = (Path(directory) / MANIFEST).resolve()
    with tempfile.TemporaryDirectory(prefix="emergetui-toy-") as tmp:
        toml = Path(tmp) / "models.toml"
        toml.write_text(
            f'[ladders.toy]\nkind = "bundled"\nmanifest = "{manifest.as_posix()}"\n',
            encoding="utf-8",
        )
        return run(ExperimentSpec(ladder=str(toml), threads=threads), Path(tmp) / "runs.sqlite")


def verdicts_markdown(doc: RunDocument) -> str:
    """The findings and the verdict lines of ``doc`` as a RESULTS.md section."""
    from emergetui.report.rundoc import finding_lines

    findings = "\n".join(f"* {line}" for line in finding_lines(doc))
    verdicts = "\n".join(doc.verdicts)
    return (
        "## What emergetui's analysis says\n\n"
        "The default experiment (`emergetui --batch`, seed 0) run on these files; its findings, "
        "then every task setting's verdict with its evidence:\n\n"
        f"{findings}\n\n```\n{verdicts}\n```\n"
    )
