"""A user's mistake gives one line `error: …` with the right exit code and leaves no files behind,
for every command: unwritable output, missing image, corrupt weights, a late failure, Ctrl-C;
and the limits (--n, pixels, --dpi, a squashed or tiny image) are checked before any work.

Most checks fail before a model runs, so the file is fast; the one interrupted run is a real
`python -m attributions compare` subprocess that gets SIGINT.
"""

import os
import signal
import subprocess
import sys
import time

import matplotlib.image as mpimg
import numpy as np
import pytest

from attributions.app.cli import main
from attributions.app.outputs import check_output_directory, write_all
from minicnn.models import weights_path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _one_error_line(err):
    err = err.rsplit("\r", 1)[-1]  # after the progress bars (tqdm redraws them with \r, then clears them)
    lines = err.strip().splitlines()
    return len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err


def _nothing_in(folder, *keep):
    """The folder holds only `keep` (the test's own inputs): no output, no temporary .tmp-* left."""
    return sorted(os.listdir(folder)) == sorted(keep)


@pytest.fixture
def digit_png(tmp_path_factory):
    from minicnn.data import load_dataset

    path = tmp_path_factory.mktemp("inputs") / "digit.png"
    mpimg.imsave(path, np.stack([load_dataset("digits", size=16).x_test[0, 0]] * 3, axis=-1))
    return str(path)


def _commands(out_dir, out_file, image):
    """Each command with an output that must not appear (fast settings)."""
    return {
        "demo": ["demo", "--n", "1", "--ig-steps", "2", "--out", out_dir],
        "explain": ["explain", "--image", image, "--method", "saliency", "--out", out_file],
        "compare": ["compare", "--n", "2", "--sanity-n", "1", "--out", out_dir],
    }


# ---- unwritable output: refused before any work ------------------------------------------------------
@pytest.mark.parametrize("command", ["demo", "explain", "compare"])
def test_output_under_a_file_is_refused_before_work(command, tmp_path, digit_png, capsys):
    """A path below a regular file can be written by nobody, root included."""
    blocker = tmp_path / "file.txt"
    blocker.write_text("a file where a directory should be")
    argv = _commands(str(blocker / "out"), str(blocker / "out" / "f.png"), digit_png)[command]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert _one_error_line(err) and "not writable" in err and "is a file" in err, err
    assert _nothing_in(tmp_path, "file.txt")


@pytest.mark.parametrize("command", ["demo", "explain", "compare"])
def test_read_only_directory_is_refused_before_work(command, tmp_path, digit_png, monkeypatch, capsys):
    """A directory without write permission. The tests run as root here, and root may write into
    a chmod 0555 directory, so the permission check (`os.access`, what the commands ask) is made
    to answer "no" for that one directory; test_chmod_read_only_directory does the real chmod
    when not root. Loading the model fails the test: the check must come before any work."""
    from attributions.app import cli

    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: False if os.path.abspath(path) == str(locked)
                        else real_access(path, mode, **kw))
    monkeypatch.setattr(cli, "_load_model", lambda *a, **k: pytest.fail("the model was loaded before the check"))
    argv = _commands(str(locked / "out"), str(locked / "f.png"), digit_png)[command]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert _one_error_line(err) and "no write permission" in err and str(locked) in err, err
    assert _nothing_in(locked) and _nothing_in(tmp_path, "locked")


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root may write into a read-only directory")
def test_chmod_read_only_directory(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        assert main(["compare", "--n", "2", "--out", str(locked / "out")]) == 1
        assert _one_error_line(capsys.readouterr().err)
        assert _nothing_in(locked)
    finally:
        locked.chmod(0o755)


def test_check_output_directory_creates_nothing(tmp_path):
    check_output_directory(str(tmp_path / "a" / "b" / "c"))
    assert _nothing_in(tmp_path)


# ---- failures while running leave nothing ---------------------------------------------------------------
def test_missing_image_leaves_no_new_directory(tmp_path, capsys):
    assert main(["explain", "--image", str(tmp_path / "missing.png"), "--out", str(tmp_path / "newdir" / "x.png")]) == 1
    err = capsys.readouterr().err
    assert _one_error_line(err) and "image file not found" in err
    assert _nothing_in(tmp_path)


def test_corrupt_weights_leave_no_output_directory(tmp_path, capsys):
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"not a zip archive")
    assert main(["demo", "--model", str(corrupt), "--out", str(tmp_path / "d1")]) == 1
    err = capsys.readouterr().err
    assert _one_error_line(err) and "cannot read weights file" in err
    assert _nothing_in(tmp_path, "corrupt.npz")


def test_weights_mismatch_is_one_line_with_the_first_keys(tmp_path, capsys):
    assert main(["demo", "--model", weights_path("shapes"), "--out", str(tmp_path / "d")]) == 1
    err = capsys.readouterr().err
    assert _one_error_line(err), err
    assert "does not match the lenet architecture" in err and "(first: '" in err and "features.0.weight" in err
    assert _nothing_in(tmp_path)


def test_weights_mismatch_debug_prints_the_full_key_lists(tmp_path, capsys):
    from attributions.app.errors import CLIError

    with pytest.raises(CLIError) as raised:
        main(["demo", "--debug", "--model", weights_path("shapes"), "--out", str(tmp_path / "d")])
    err = capsys.readouterr().err
    assert "shape mismatches (" in err and "missing keys (" in err and "unexpected keys (" in err
    assert raised.value.details.splitlines()[0] in err


def _full_disk(path, text):
    raise OSError(28, "No space left on device")


def test_a_late_failure_removes_the_files_written_before_it(tmp_path, monkeypatch, capsys):
    """figure1.png is written, then table1.md fails: neither may stay."""
    from attributions.app import demo

    monkeypatch.setattr(demo, "write_text", _full_disk)
    out = tmp_path / "d"
    assert main(["demo", "--n", "1", "--ig-steps", "2", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert _one_error_line(err) and "No space left on device" in err
    assert _nothing_in(tmp_path)


def test_write_all_renames_none_when_one_fails(tmp_path):
    def fails(tmp):
        raise OSError(5, "Input/output error")

    with pytest.raises(Exception, match="cannot write .*b.txt: Input/output error"):
        write_all({str(tmp_path / "new" / "a.txt"): lambda tmp: open(tmp, "w").close(), str(tmp_path / "new" / "b.txt"): fails})
    assert _nothing_in(tmp_path)


def test_existing_output_directory_keeps_its_files_after_a_failure(tmp_path, monkeypatch, capsys):
    from attributions.app import demo

    out = tmp_path / "d"
    out.mkdir()
    (out / "notes.txt").write_text("the user's own file")
    monkeypatch.setattr(demo, "write_text", _full_disk)
    assert main(["demo", "--n", "1", "--ig-steps", "2", "--out", str(out)]) == 1
    assert _nothing_in(out, "notes.txt") and _nothing_in(tmp_path, "d")


def test_ctrl_c_in_compare_leaves_nothing(tmp_path):
    """SIGINT to a real `compare` once it is computing into its temporary output directory: exit
    130, one line, and neither the output nor the temporary directory remains.

    The signal is sent when the progress bar reaches gradient × input's deletion curves: by then
    the Numba kernels are loaded (a KeyboardInterrupt inside llvmlite while it links a kernel can
    crash the interpreter, which no cleanup survives), and the run is in ordinary NumPy work."""
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), MPLBACKEND="Agg")
    log = tmp_path.parent / f"{tmp_path.name}-stderr.txt"  # outside the folder that must stay empty
    with open(log, "w") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "attributions", "compare", "--n", "4", "--sanity-n", "2",
                                    "--out", "cmp"], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            deadline = time.monotonic() + 600
            while "Gradient × input: deletion" not in log.read_text(encoding="utf-8", errors="replace"):
                assert process.poll() is None, log.read_text(encoding="utf-8", errors="replace")
                assert time.monotonic() < deadline, "compare never reached the deletion curves"
                time.sleep(0.1)
            assert any(name.startswith(".tmp-cmp-") for name in os.listdir(tmp_path))  # writing has begun
            process.send_signal(signal.SIGINT)
            process.wait(timeout=300)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    err = log.read_text(encoding="utf-8")
    assert process.returncode == 130, err
    assert err.rsplit("\r", 1)[-1].strip().splitlines()[-1] == "error: interrupted; nothing was written"
    assert _nothing_in(tmp_path)


# ---- limits, checked before work ----------------------------------------------------------------------
@pytest.mark.parametrize("argv, fragments", [
    (["demo", "--n", "100000"], ["--n", "at most 50", "100000"]),
    (["demo", "--dataset", "photos", "--weights", "w.npz", "--n", "9"], ["--n", "at most the 8 bundled photographs"]),
    (["compare", "--dataset", "digits", "--n", "100000"], ["--n", "at most the", "digits test images", "100000"]),
    (["demo", "--dpi", "100000"], ["--dpi", "from 10 to 1000", "100000"]),
    (["explain", "--image", "x.png", "--dpi", "5"], ["--dpi", "from 10 to 1000", "5"]),
    (["demo", "--n", "50", "--dpi", "1000"], ["--dpi 1000: figure1.png would be", "MAX_IMAGE_PIXELS", "--n"]),
    (["compare", "--n", "-5"], ["--n", "positive integer", "-5"]),
    (["compare", "--fraction", "2"], ["--fraction", "(0, 1]"]),
    (["compare", "--subsets", "1"], ["--subsets", "≥ 2"]),
])
def test_limits_are_usage_errors_before_work(argv, fragments, tmp_path, capsys):
    assert main(argv + ["--out", str(tmp_path / ("o.png" if argv[0] == "explain" else "o"))]) == 2
    err = capsys.readouterr().err
    assert _one_error_line(err), err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    assert _nothing_in(tmp_path)


@pytest.mark.parametrize("side", [50, 100])  # above the limit (Pillow warns), above twice it (Pillow raises)
def test_images_above_the_pixel_limit_are_refused(side, tmp_path, monkeypatch, capsys):
    """Pillow's decompression-bomb limit, lowered to 2000 pixels so that the test image is small."""
    from PIL import Image

    from attributions.app.photos import read_photo

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 2000)
    path = tmp_path / "big.png"
    Image.new("L", (side, side), 128).save(path)
    # a figure of 56×28 pixels (10 dpi), so that only the image is above the lowered limit
    assert main(["explain", "--image", str(path), "--method", "saliency", "--dpi", "10", "--out", str(tmp_path / "o.png")]) == 1
    err = capsys.readouterr().err
    assert _one_error_line(err) and "too large" in err and "2,000" in err and "MAX_IMAGE_PIXELS" in err, err
    if side == 50:
        assert "50×50 = 2,500 pixels" in err
    with pytest.raises(Exception, match="too large"):
        read_photo(str(path))  # the ImageNet path checks the same limit
    assert _nothing_in(tmp_path, "big.png")


@pytest.mark.parametrize("width, height, fragment", [
    (1, 1, "only 1×1 pixels"),
    (1000, 3, "stretched to the model's 16×16: the aspect ratio changes 333.3×"),
    (48, 16, "the aspect ratio changes 3.0×"),
])
def test_a_squashed_or_tiny_image_gets_a_note(width, height, fragment, tmp_path, capsys):
    from PIL import Image

    path = tmp_path / "odd.png"
    Image.new("L", (width, height), 200).save(path)
    out = tmp_path / "o.png"
    # --preprocess resize: the notes are about the plain resize (a digits model would otherwise
    # read a drawn digit through the scikit-learn pipeline, which crops instead of squashing).
    assert main(["explain", "--image", str(path), "--method", "saliency", "--preprocess", "resize", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    notes = [line for line in err.splitlines() if line.startswith("note: ")]
    assert any(fragment in line for line in notes), err
    assert out.is_file()


def test_an_image_of_the_model_shape_gets_no_note(digit_png, tmp_path, capsys):
    assert main(["explain", "--image", digit_png, "--method", "saliency", "--preprocess", "resize",
                 "--out", str(tmp_path / "o.png")]) == 0
    assert "note:" not in capsys.readouterr().err


def test_a_long_photo_gets_a_crop_note():
    from attributions.app.image_files import shape_notes

    assert shape_notes(224, 224, (224, 224), crop=True) == []
    (note,) = shape_notes(1000, 300, (224, 224), crop=True)
    assert "keeps only the middle 26% of its width" in note  # 224/256 · 300/1000
