"""GGUF files are untrusted input: a chat template embedded in one is never executed.

A GGUF's ``tokenizer.chat_template`` is a Jinja2 program written by whoever
made the file. Rendered by a plain ``jinja2.Environment`` it can reach
Python's ``os`` module (the payload below creates a folder); only a sandboxed
environment stops it. emergetui scores raw text continuations and never
formats chats, so it never renders the template at all: it uses llama.cpp's
low-level API, not llama-cpp-python's ``Llama`` class (which builds a Jinja2
chat formatter from the file's metadata). The first test makes that a rule of
the code base; the second runs a file with a malicious template through the
whole batch CLI and checks that the payload did not run.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import pytest

import emergetui
from emergetui import Engine
from emergetui.cli import main
from emergetui.models.gguf_writer import (
    LlamaShape,
    byte_spm_vocab,
    random_llama_weights,
    write_llama_gguf,
)
from tests.conftest import EXTRA_TOKENS

from .support import batch_args, count_by_rung, item_rows, write_ladder

PACKAGE = Path(emergetui.__file__).parent
# Anything that could render or hand over a chat template: Jinja itself, llama.cpp's template
# call, llama-cpp-python's high-level class and its chat API, the metadata key itself.
RISKY = re.compile(
    r"jinja|chat_template|chat_format|llama_chat_apply_template|create_chat_completion|\bLlama\("
)


def payload(sentinel: Path) -> str:
    """A template that creates ``sentinel`` when rendered outside a sandbox."""
    return (
        "{{ cycler.__init__.__globals__.os.makedirs('" + str(sentinel) + "') }}"
        "{% for m in messages %}{{ m['content'] }}{% endfor %}"
    )


def test_no_emergetui_module_renders_chat_templates() -> None:
    """Every module that mentions templates or Jinja at all must render only in Jinja's sandbox."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if RISKY.search(text) and "ImmutableSandboxedEnvironment" not in text:
            offenders.append(f"{path.relative_to(PACKAGE.parent)}: {RISKY.search(text).group(0)}")  # type: ignore[union-attr]
    assert offenders == []


def test_the_payload_is_real(tmp_path: Path) -> None:
    """The template used below does run code in plain Jinja2, and the sandbox refuses it."""
    jinja2 = pytest.importorskip("jinja2")
    from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

    sentinel = tmp_path / "pwned-plain"
    jinja2.Environment().from_string(payload(sentinel)).render(messages=[{"content": "hi"}])
    assert sentinel.is_dir()
    with pytest.raises(SecurityError):
        ImmutableSandboxedEnvironment().from_string(payload(tmp_path / "pwned-sandbox")).render(
            messages=[]
        )
    assert not (tmp_path / "pwned-sandbox").exists()


def test_a_gguf_with_a_malicious_chat_template_is_scored_without_running_it(
    tmp_path: Path, mix_task: Path
) -> None:
    sentinel = tmp_path / "pwned"
    vocab = byte_spm_vocab(EXTRA_TOKENS)
    shape = LlamaShape(
        n_vocab=vocab.size, n_embd=32, n_layer=2, n_head=4, n_head_kv=2, n_ff=64, n_ctx=2048
    )
    model = write_llama_gguf(
        tmp_path / "templated.gguf",
        shape,
        vocab,
        random_llama_weights(shape, seed=5),
        name="templated",
        metadata={"tokenizer.chat_template": payload(sentinel)},
    )
    with Engine.load(model, n_gpu_layers=0) as e:  # llama.cpp sees the template in the file...
        assert e.native.meta("tokenizer.chat_template") == payload(sentinel)  # (under 512 bytes)
    lad = write_ladder(tmp_path / "ladder.toml", [("templated", 1000, model)])
    store = tmp_path / "s.sqlite"
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        assert main(batch_args(lad, mix_task, store)) == 0, err.getvalue()
    # ...and the whole run, scoring and generations, never evaluates it
    assert json.loads(out.getvalue())["rungs"][0]["status"] == "done"
    assert count_by_rung(item_rows(store)) == {"templated": 40}
    assert not sentinel.exists()
