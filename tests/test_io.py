"""Tests for minicnn.io: .npz and .safetensors save/load that is bit-exact, atomic and never unpickles.

Run one part with e.g. ``pytest tests/test_io.py -k Atomic``.
"""

import os
import pickle
import re
import sys
import zipfile

import numpy as np
import pytest

import minicnn as mc
from minicnn import Tensor


def state():
    rng = np.random.default_rng(0)
    return {
        "features.0.weight": rng.standard_normal((4, 1, 3, 3)).astype(np.float32),
        "features.0.bias": rng.standard_normal(4).astype(np.float32),
        "features.1.running_mean": rng.standard_normal(4),
        "features.1.num_batches_tracked": np.array(7, dtype=np.int64),
        "classifier.layers.2.weight": rng.standard_normal((3, 5)),
        "indices": np.array([1, -2, 2**40], dtype=np.int64),
    }


def temp_files(directory):
    return sorted(name for name in os.listdir(directory) if name.startswith(".") or "tmp" in name)


class TestRoundTrip:
    def test_bit_exact(self, tmp_path):
        original = state()
        path = tmp_path / "model.npz"
        mc.save(original, path)
        loaded = mc.load(path)
        assert list(loaded) == list(original)  # names and their order
        for name, array in original.items():
            assert loaded[name].dtype == array.dtype, name
            assert loaded[name].shape == array.shape, name
            assert loaded[name].tobytes() == array.tobytes(), name

    def test_special_values_bit_exact(self, tmp_path):
        special = np.array([np.nan, -0.0, np.inf, -np.inf, 5e-324, np.finfo(np.float64).max])
        special32 = np.array([np.nan, -0.0, np.inf, -np.inf, 1e-45, np.finfo(np.float32).max], dtype=np.float32)
        mc.save({"a": special, "b": special32}, tmp_path / "s.npz")
        loaded = mc.load(tmp_path / "s.npz")
        assert loaded["a"].tobytes() == special.tobytes()
        assert loaded["b"].tobytes() == special32.tobytes()

    def test_non_contiguous_arrays(self, tmp_path):
        base = np.arange(24.0).reshape(4, 6)
        views = {"t": base.T, "strided": base[::2, ::-3], "fortran": np.asfortranarray(base)}
        mc.save(views, tmp_path / "v.npz")
        loaded = mc.load(tmp_path / "v.npz")
        for name, view in views.items():
            np.testing.assert_array_equal(loaded[name], view)
            assert loaded[name].shape == view.shape

    def test_tensors_are_saved_as_arrays(self, tmp_path):
        t = Tensor(np.arange(3.0, dtype=np.float32), requires_grad=True)
        mc.save({"w": t}, str(tmp_path / "t.npz"))
        loaded = mc.load(str(tmp_path / "t.npz"))
        assert isinstance(loaded["w"], np.ndarray) and loaded["w"].dtype == np.float32
        np.testing.assert_array_equal(loaded["w"], t.data)

    def test_empty_state_dict(self, tmp_path):
        mc.save({}, tmp_path / "e.npz")
        assert dict(mc.load(tmp_path / "e.npz")) == {}

    def test_load_returns_plain_writable_arrays(self, tmp_path):
        mc.save(state(), tmp_path / "m.npz")
        loaded = mc.load(tmp_path / "m.npz")
        for array in loaded.values():
            assert type(array) is np.ndarray
        loaded["features.0.bias"][0] = 1.0  # not a read-only view into the file

    def test_model_state_dict_round_trip(self, tmp_path):
        model = mc.nn.Linear(3, 2)
        mc.save(model.state_dict(), tmp_path / "lin.npz")
        other = mc.nn.Linear(3, 2)
        other.load_state_dict(mc.load(tmp_path / "lin.npz"))
        for (name, a), (_, b) in zip(model.state_dict().items(), other.state_dict().items()):
            np.testing.assert_array_equal(np.asarray(getattr(a, "data", a)), np.asarray(getattr(b, "data", b)))


class TestAtomicWrite:
    def test_no_temp_files_left(self, tmp_path):
        mc.save(state(), tmp_path / "m.npz")
        mc.save(state(), tmp_path / "m.npz")  # overwrite
        assert os.listdir(tmp_path) == ["m.npz"]

    def test_existing_file_kept_when_validation_fails(self, tmp_path):
        path = tmp_path / "m.npz"
        mc.save({"a": np.arange(3.0)}, path)
        before = path.read_bytes()
        with pytest.raises(TypeError):
            mc.save({"a": np.array([1, "x"], dtype=object)}, path)
        assert path.read_bytes() == before
        assert os.listdir(tmp_path) == ["m.npz"]

    @staticmethod
    def break_writer(monkeypatch, exception):
        """Make the .npy serialiser (used by np.savez and by hand-written zip writers alike)
        write the first array, then fail half-way through the second."""
        real = np.lib.format.write_array
        calls = []

        def broken(fp, array, *args, **kwargs):
            calls.append(1)
            if len(calls) == 1:
                return real(fp, array, *args, **kwargs)
            fp.write(b"\x93NUMPY half written")
            raise exception

        monkeypatch.setattr(np.lib.format, "write_array", broken)

    def test_existing_file_kept_when_write_fails_midway(self, tmp_path, monkeypatch):
        path = tmp_path / "m.npz"
        mc.save({"a": np.arange(3.0)}, path)
        before = path.read_bytes()
        self.break_writer(monkeypatch, OSError("disk full"))
        with pytest.raises(OSError, match="disk full"):
            mc.save({"a": np.arange(100.0), "b": np.ones(5)}, path)
        monkeypatch.undo()
        assert path.read_bytes() == before
        np.testing.assert_array_equal(mc.load(path)["a"], np.arange(3.0))
        assert os.listdir(tmp_path) == ["m.npz"]

    def test_interrupt_also_cleans_up(self, tmp_path, monkeypatch):
        self.break_writer(monkeypatch, KeyboardInterrupt())
        with pytest.raises(KeyboardInterrupt):
            mc.save({"a": np.zeros(2), "b": np.zeros(3)}, tmp_path / "m.npz")
        assert os.listdir(tmp_path) == []


class TestBadInput:
    def test_path_must_end_with_npz(self, tmp_path):
        with pytest.raises(ValueError, match="npz"):
            mc.save({"a": np.zeros(2)}, tmp_path / "model.pt")
        assert os.listdir(tmp_path) == []

    def test_missing_directory(self, tmp_path):
        with pytest.raises(FileNotFoundError):
            mc.save({"a": np.zeros(2)}, tmp_path / "nope" / "m.npz")

    def test_non_mapping_rejected(self, tmp_path):
        with pytest.raises(TypeError):
            mc.save([np.zeros(2)], tmp_path / "m.npz")

    def test_non_string_key_rejected(self, tmp_path):
        with pytest.raises(TypeError):
            mc.save({1: np.zeros(2)}, tmp_path / "m.npz")

    @pytest.mark.parametrize("name", ["file", "allow_pickle", "args"])
    def test_any_string_key_round_trips(self, tmp_path, name):
        # np.savez(file, *args, allow_pickle=..., **kwds): names must not collide with its parameters.
        mc.save({name: np.arange(2.0), "other": np.ones(1)}, tmp_path / "k.npz")
        loaded = mc.load(tmp_path / "k.npz")
        np.testing.assert_array_equal(loaded[name], np.arange(2.0))

    def test_missing_file(self, tmp_path):
        with pytest.raises(FileNotFoundError):
            mc.load(tmp_path / "missing.npz")

    def test_directory_is_not_a_file(self, tmp_path):
        with pytest.raises((FileNotFoundError, ValueError)):
            mc.load(tmp_path)


class TestForeignFiles:
    @pytest.mark.parametrize("keep", [0, 10, 100, 0.5, -30])
    def test_truncated_file(self, tmp_path, keep):
        path = tmp_path / "m.npz"
        mc.save(state(), path)
        data = path.read_bytes()
        cut = int(len(data) * keep) if isinstance(keep, float) else (keep if keep >= 0 else len(data) + keep)
        path.write_bytes(data[:cut])
        with pytest.raises(ValueError, match="load"):
            mc.load(path)

    def test_text_file(self, tmp_path):
        path = tmp_path / "notes.npz"
        path.write_text("weights: 1 2 3\n")
        with pytest.raises(ValueError):
            mc.load(path)

    def test_pickle_file(self, tmp_path):
        path = tmp_path / "m.npz"
        with open(path, "wb") as f:
            pickle.dump({"w": np.ones(3)}, f)
        with pytest.raises(ValueError):
            mc.load(path)

    def test_single_npy_array(self, tmp_path):
        path = tmp_path / "m.npz"
        with open(path, "wb") as f:
            np.save(f, np.ones(3))
        with pytest.raises(ValueError, match="single array"):
            mc.load(path)

    def test_zip_that_is_not_npz(self, tmp_path):
        path = tmp_path / "m.npz"
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("readme.txt", "hello")
        with pytest.raises(ValueError):
            mc.load(path)

    def test_never_unpickles(self, tmp_path):
        marker = tmp_path / "pwned"

        class Evil:
            def __reduce__(self):
                return (open, (str(marker), "w"))

        path = tmp_path / "evil.npz"
        np.savez(path, w=np.array([Evil()], dtype=object))  # a pickled object array inside an npz
        with pytest.raises(ValueError):
            mc.load(path)
        assert not marker.exists()

    def test_pickled_npy_never_unpickled(self, tmp_path):
        marker = tmp_path / "pwned"

        class Evil:
            def __reduce__(self):
                return (open, (str(marker), "w"))

        path = tmp_path / "evil.npz"
        with open(path, "wb") as f:
            pickle.dump(Evil(), f)
        with pytest.raises(ValueError):
            mc.load(path)
        assert not marker.exists()


class TestPickledArrays:
    def test_object_array_npz_refused_in_one_line_naming_it(self, tmp_path):
        path = tmp_path / "objects.npz"
        np.savez(path, fine=np.ones(2), bad=np.array([{"a": 1}], dtype=object))
        with pytest.raises(ValueError) as info:
            mc.load(path)
        message = str(info.value)
        assert "\n" not in message
        assert "'bad'" in message and "pickled object array" in message and "never unpickles" in message

    def test_torch_checkpoint_suffix_points_to_the_converter(self, tmp_path):
        path = tmp_path / "resnet18.pth"
        path.write_bytes(b"PK")
        with pytest.raises(ValueError, match=r"load_torch_checkpoint.*python -m minicnn\.convert"):
            mc.load(path)
        with pytest.raises(ValueError, match="npz or .safetensors"):
            mc.save({"a": np.zeros(2)}, tmp_path / "out.pth")


# The package must never unpickle: no pickle module, no allow_pickle=True, no weights_only=False.
_UNPICKLING = re.compile(
    r"^\s*(import|from)\s+(c?pickle|cloudpickle|dill|joblib|shelve)\b"
    r"|\b(c?pickle|dill|joblib)\.(loads?|Unpickler)\b"
    r"|allow_pickle\s*=\s*True|weights_only\s*=\s*False",
    re.MULTILINE,
)


def package_sources():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for package in ("minicnn", "attributions"):
        for directory, _, files in os.walk(os.path.join(root, package)):
            for name in files:
                if name.endswith(".py"):
                    yield os.path.join(directory, name)


def test_no_package_source_can_unpickle():
    sources = list(package_sources())
    assert any(p.endswith(os.path.join("minicnn", "io.py")) for p in sources)
    offenders = []
    for path in sources:
        with open(path, encoding="utf-8") as f:
            offenders += [f"{path}: {m.group(0).strip()}" for m in _UNPICKLING.finditer(f.read())]
    assert offenders == []


def test_the_unpickling_pattern_catches_what_it_should():
    for line in ("import pickle", "from pickle import loads", "x = pickle.load(f)", "np.load(p, allow_pickle=True)",
                 "torch.load(p, weights_only=False)", "import dill"):
        assert _UNPICKLING.search(line), line
    for line in ("np.load(p, allow_pickle=False)", "loads never unpickle", "torch.load(p, weights_only=True)"):
        assert not _UNPICKLING.search(line), line


class TestSafetensors:
    safetensors = pytest.importorskip("safetensors.numpy", reason="safetensors not installed (pip install safetensors)")

    def test_round_trip_bit_exact_with_order_and_dtypes(self, tmp_path):
        original = dict(state(), half=np.array([1.5, -2.0], dtype=np.float16), mask=np.array([True, False]),
                        t=np.arange(12.0).reshape(3, 4).T)
        path = tmp_path / "model.safetensors"
        mc.save(original, path)
        loaded = mc.load(path)
        assert list(loaded) == list(original)  # the state_dict's order, not the format's
        for name, array in original.items():
            assert loaded[name].dtype == array.dtype and loaded[name].shape == array.shape, name
            assert loaded[name].tobytes() == np.ascontiguousarray(array).tobytes(), name
            assert type(loaded[name]) is np.ndarray and loaded[name].flags.writeable

    def test_file_written_by_safetensors_itself(self, tmp_path):
        # As published by Hugging Face / timm: no minicnn metadata, so the file's own order.
        path = tmp_path / "hub.safetensors"
        arrays = {"fc.weight": np.ones((3, 2), np.float32), "fc.bias": np.zeros(3, np.float32)}
        self.safetensors.save_file(arrays, str(path), metadata={"format": "pt"})
        loaded = mc.load(path)
        assert sorted(loaded) == sorted(arrays)
        np.testing.assert_array_equal(loaded["fc.weight"], arrays["fc.weight"])

    def test_model_loads_from_safetensors(self, tmp_path):
        model = mc.nn.Sequential(mc.nn.Conv2d(1, 2, 3), mc.nn.BatchNorm2d(2))
        mc.save(model.state_dict(), tmp_path / "m.safetensors")
        other = mc.nn.Sequential(mc.nn.Conv2d(1, 2, 3), mc.nn.BatchNorm2d(2))
        other.load_state_dict(mc.load(tmp_path / "m.safetensors"))
        np.testing.assert_array_equal(other[0].weight.data, model[0].weight.data)

    def test_unsupported_dtype_leaves_no_file(self, tmp_path):
        with pytest.raises(TypeError, match="safetensors"):
            mc.save({"z": np.ones(2, dtype=np.complex128)}, tmp_path / "c.safetensors")
        assert os.listdir(tmp_path) == []

    def test_existing_file_kept_when_encoding_fails(self, tmp_path, monkeypatch):
        path = tmp_path / "m.safetensors"
        mc.save({"a": np.arange(3.0)}, path)
        before = path.read_bytes()

        def broken(*args, **kwargs):
            raise OSError("disk full")

        monkeypatch.setattr(self.safetensors, "save", broken)
        with pytest.raises(OSError, match="disk full"):
            mc.save({"a": np.arange(100.0)}, path)
        assert path.read_bytes() == before and os.listdir(tmp_path) == ["m.safetensors"]

    @pytest.mark.parametrize("keep", [0, 5, 40, -3])
    def test_damaged_file(self, tmp_path, keep):
        path = tmp_path / "m.safetensors"
        mc.save(state(), path)
        data = path.read_bytes()
        path.write_bytes(data[:keep] if keep >= 0 else data[:keep])
        with pytest.raises(ValueError, match="not a readable .safetensors file"):
            mc.load(path)

    def test_missing_package_says_how_to_install(self, tmp_path, monkeypatch):
        path = tmp_path / "m.safetensors"
        mc.save({"a": np.ones(2)}, path)
        monkeypatch.setitem(sys.modules, "safetensors", None)
        monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
        for call in (lambda: mc.load(path), lambda: mc.save({"a": np.ones(2)}, tmp_path / "new.safetensors")):
            with pytest.raises(ImportError, match="pip install safetensors") as info:
                call()
            assert "\n" not in str(info.value)
        assert sorted(os.listdir(tmp_path)) == ["m.safetensors"]
