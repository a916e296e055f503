"""Runtime faults at ingest: files that are not files, unreadable files, unwritable output.

Each call that could block (opening a FIFO waits for a writer forever) runs in a thread
with a timeout, so a regression fails the test instead of hanging the suite.
"""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path

import pytest
from conftest import ROOT

from hsc_research.cli import main
from hsc_research.errors import CodebookError, InputError
from hsc_research.instrument import load_codebook
from hsc_research.mapping import load_mapping

EXPORTS = ROOT / "tests" / "fixtures" / "exports"


def _returns(fn, fifo: Path | None = None, seconds: float = 10.0):
    """``fn()``'s result, or its exception, if it returns within ``seconds``."""
    box: dict = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            box["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive() and fifo is not None:
        # Unblock the reader (a writer appears, then leaves: end of file) before failing.
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        worker.join(seconds)
    assert "value" in box or "error" in box, f"still blocked after {seconds} s"
    if "error" in box:
        raise box["error"]
    return box["value"]


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "export.csv"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize(
    "command",
    [["clean", "--input", "{x}"], ["validate", "{x}"], ["map", "--suggest", "{x}"]],
    ids=["clean", "validate", "map"],
)
def test_fifo_as_the_export_is_refused(fifo, tmp_path, capsys, command):
    argv = ["--root", str(tmp_path), *[str(fifo) if a == "{x}" else a for a in command]]
    code = _returns(lambda: main(argv), fifo)
    out = capsys.readouterr()
    line = (out.err or out.out).strip().splitlines()[-1]
    assert code == (1 if command[0] == "validate" else 2)
    assert f"{fifo}: is not a regular file" in line


def test_fifo_as_the_mapping_is_refused(fifo, codebook):
    with pytest.raises(InputError, match="is not a regular file"):
        _returns(lambda: load_mapping(fifo, codebook), fifo)


def test_fifo_as_the_codebook_is_refused(fifo):
    with pytest.raises(CodebookError, match="not a regular file"):
        _returns(lambda: load_codebook(fifo), fifo)


def test_export_that_cannot_be_read_is_one_line(tmp_path, monkeypatch, capsys):
    path = tmp_path / "export.csv"
    path.write_text("id,site\n1,North\n", encoding="utf-8")

    real = Path.read_bytes

    def failing(self):
        if self == path:  # the export only: the codebook is read as usual
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", failing)
    code = main(["--root", str(tmp_path), "map", "--suggest", str(path)])
    assert code == 2
    assert capsys.readouterr().err.strip() == (
        f"hsc-research: error: {path}: cannot read (Input/output error)"
    )


def test_map_out_folder_is_one_line(tmp_path, capsys):
    code = main(["map", "--suggest", str(EXPORTS / "qualtrics.csv"), "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert f"{tmp_path}: is a folder; give a file name" in err


def test_map_out_under_a_file_is_one_line(tmp_path, capsys):
    (tmp_path / "afile").write_text("")
    out = tmp_path / "afile" / "mapping.yaml"
    code = main(["map", "--suggest", str(EXPORTS / "qualtrics.csv"), "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert f"{out}: cannot write the mapping (Not a directory)" in err


def test_map_out_on_a_full_disk_is_one_line(tmp_path, monkeypatch, capsys):
    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Path, "write_text", full)
    out = tmp_path / "mapping.yaml"
    code = main(["map", "--suggest", str(EXPORTS / "qualtrics.csv"), "--out", str(out)])
    assert code == 2
    assert "cannot write the mapping (No space left on device)" in capsys.readouterr().err
