"""The command line: `python -m attributions demo | explain | compare | reproduce`.

    python -m attributions demo                                   # digits, 6 images, ./attributions_demo
    python -m attributions demo --dataset shapes --n 4 --out runs/shapes
    python -m attributions explain --image my_digit.png --target 3 --method integrated_gradients,grad_cam
    python -m attributions explain --model w.npz --arch lenet --dataset digits --image x.png --out x_expl.png
    python -m attributions compare --dataset shapes --n 100     # attributions/app/compare.py
    python -m attributions reproduce ig-convergence [--quick]   # attributions/reproduce/

    python -m attributions explain --arch resnet50 --weights resnet50.safetensors --image cat.jpg [--target tabby]
    python -m attributions demo --dataset photos --arch resnet18 --weights resnet18.safetensors

`explain` takes the input shape and the class names from `--dataset` (the dataset the weights
were trained on): the image is converted to that shape. `--arch` and `--model` default to the
bundled model of that dataset. With an ImageNet architecture (`minicnn.models.IMAGENET`) it
writes the poster's Figure 1 for a photograph instead (attributions/app/photos.py): the weights
are the user's own file (`--weights`, an alias of `--model`; nothing is bundled or downloaded),
the photo goes through torchvision's pipeline, `--target` is `top`, a class index or an ImageNet
class name.

Exit codes: 0 success; 2 the command line is wrong (unknown subcommand, option, dataset,
architecture or method name, bad number, an ImageNet --arch without --weights, a --target that
is not a class); 1 a well-formed command failed while running (a file
missing or unreadable, weights not matching the architecture, an unwritable output). Errors are
one line on stderr (a weights mismatch adds the load_state_dict report); `--debug` shows the
traceback instead.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

import numpy as np

from .errors import CLIError, UsageError

__all__ = ["main", "build_parser", "CLIError", "UsageError", "load_image"]

PROG = "python -m attributions"
PHOTOS = "photos"  # demo --dataset photos: the bundled photographs, explained by an ImageNet model


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad command line raises UsageError (one line) instead of printing usage."""

    def error(self, message):
        raise UsageError(f"{self.prog}: {message} (see --help)")


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _dataset_names():
    from minicnn.models import BUNDLED

    return list(BUNDLED)


def _arch_names():
    """The small architectures of the bundled datasets, then the ImageNet ones."""
    from minicnn.models import ARCHITECTURES, IMAGENET

    return list(ARCHITECTURES) + list(IMAGENET)


def _is_imagenet(arch):
    from minicnn.models import IMAGENET

    return arch in IMAGENET


def _add_weights(parser, help_text):
    parser.add_argument("--model", "--weights", dest="model", metavar="PATH", help=help_text)


def _add_common(parser):
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")


def build_parser():
    """The argparse parser of the three subcommands (methods and defaults from the registry)."""
    from . import compare
    from .registry import IG_STEPS, names

    parser = _Parser(prog=PROG, description="Attribution methods on minicnn models: DeepLIFT, Integrated Gradients, Grad-CAM.")
    _add_common(parser)
    commands = parser.add_subparsers(dest="command", metavar="{demo,explain,compare,reproduce}", parser_class=_Parser)
    commands.required = True
    datasets = _dataset_names()

    demo = commands.add_parser("demo", help="explain a few test images of a bundled model; write figure1.png and table1.md "
                                            "(--dataset photos: Figure 1 per photograph and top5.md)")
    demo.add_argument("--dataset", choices=datasets + [PHOTOS], default="digits",
                      help="bundled dataset and model (default: digits); photos: the bundled photographs, "
                           "explained by an ImageNet --arch with your --weights")
    demo.add_argument("--arch", choices=_arch_names(),
                      help="architecture (default: the dataset's bundled one; photos: resnet18)")
    _add_weights(demo, "weights (.npz) for the dataset's bundled architecture instead of the bundled ones; "
                       "photos: ImageNet weights for --arch (.npz, .safetensors or .pth)")
    demo.add_argument("--n", type=_positive_int, help="number of test images (default: 6; photos: all 8)")
    demo.add_argument("--out", metavar="DIR", default="attributions_demo", help="output directory (default: ./attributions_demo)")
    demo.add_argument("--ig-steps", type=_positive_int, default=IG_STEPS, help=f"Integrated Gradients steps (default: {IG_STEPS})")
    demo.add_argument("--dpi", type=_positive_int, default=100, help="resolution of figure1.png (default: 100)")
    _add_common(demo)

    explain = commands.add_parser("explain", help="explain your own image; write an overlay figure")
    explain.add_argument("--image", metavar="FILE", required=True,
                         help="image file (PNG; read with matplotlib.image.imread); for an ImageNet --arch a "
                              "photograph in any format Pillow reads (JPEG, PNG, ...)")
    explain.add_argument("--dataset", choices=datasets,
                         help="dataset the model was trained on: gives the input shape and class names "
                              "(default: digits; not used with an ImageNet --arch)")
    explain.add_argument("--arch", choices=_arch_names(),
                         help="architecture (default: the dataset's bundled one); an ImageNet one "
                              "(resnet50, vgg16, ...) writes Figure 1 for a photograph and needs --weights")
    _add_weights(explain, "weights .npz (default: the dataset's bundled weights); for an ImageNet --arch "
                          "your .npz, .safetensors or .pth file")
    explain.add_argument("--target", metavar="top|CLASS",
                         help="class to explain: top (default: the predicted class) or a class index; "
                              "for an ImageNet --arch also a class name such as tabby")
    explain.add_argument("--method", default="all",
                         help=f"comma-separated methods, or 'all' (default) for the poster's: {', '.join(names())}; "
                              f"also: {', '.join(n for n in names(beyond_demo=True) if n not in names())}")
    explain.add_argument("--out", metavar="FILE", default="explanation.png", help="output figure (default: explanation.png)")
    explain.add_argument("--ig-steps", type=_positive_int, default=IG_STEPS, help=f"Integrated Gradients steps (default: {IG_STEPS})")
    explain.add_argument("--dpi", type=_positive_int, default=120, help="resolution of the figure (default: 120)")
    _add_common(explain)

    compare_parser = commands.add_parser("compare", help="every method × every metric on a bundled model; "
                                                         "write compare.md and five figures")
    compare.add_arguments(compare_parser)
    _add_common(compare_parser)

    from ..reproduce import command as reproduce  # issue 16: published experiments, rerun
    reproduce_parser = commands.add_parser("reproduce", help="rerun a published experiment (or all); write "
                                                             "docs/reproductions/NAME.md and the index")
    reproduce.add_arguments(reproduce_parser)
    _add_common(reproduce_parser)
    return parser


def run_compare_command(args):
    from . import compare

    model, data = _load_model(args.dataset)
    problem = compare.check_args(args, len(data.x_test))
    if problem:
        raise UsageError(problem)
    return compare.run(args, model, data)


def run_reproduce_command(args):
    import matplotlib

    matplotlib.use("Agg")
    from ..reproduce.command import run_command

    return run_command(args)


# ---- demo -------------------------------------------------------------------------------------
def _check_writable_dir(path):
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as error:
        raise CLIError(f"output directory {path!r} is not writable: {error.strerror or error}") from None


def _load_model(dataset, arch=None, path=None):
    """(model in eval mode, Dataset) from `minicnn.models.load_pretrained`, its errors as CLIError."""
    from minicnn import nn
    from minicnn.models import BUNDLED, load_pretrained
    from minicnn.models.pretrained import WeightsFileError

    bundled_arch = BUNDLED[dataset][0]
    if path is None and arch not in (None, bundled_arch):
        raise UsageError(f"--arch {arch}: there are no bundled {arch} weights for {dataset} "
                         f"(bundled: {bundled_arch}); pass --model PATH")
    try:
        return load_pretrained(dataset, path=path, arch=arch)
    except (WeightsFileError, nn.StateDictError) as error:
        raise CLIError(str(error)) from None


def _check_small_arch(arch, dataset):
    if arch is not None and _is_imagenet(arch):
        raise UsageError(f"--arch {arch}: an ImageNet architecture, but --dataset {dataset} is a small bundled "
                         f"dataset; explain photographs with `explain --arch {arch} --weights W --image PHOTO` "
                         f"or `demo --dataset {PHOTOS} --arch {arch} --weights W`")


def _check_imagenet_arch(arch, where):
    if not _is_imagenet(arch):
        from minicnn.models import IMAGENET

        raise UsageError(f"--arch {arch}: {where} needs an ImageNet architecture, one of {', '.join(IMAGENET)}")


def run_photo_demo_command(args):
    """demo --dataset photos: Figure 1 for each bundled photograph, and the top-5 table."""
    from .imagenet_weights import load_imagenet_model, missing_weights_message
    from .outputs import check_output_directory
    from .photos import run_photo_demo

    arch = args.arch or "resnet18"
    _check_imagenet_arch(arch, f"--dataset {PHOTOS}")
    if args.model is None:
        raise UsageError(missing_weights_message(arch))
    check_output_directory(args.out)
    model = load_imagenet_model(arch, args.model)
    result = run_photo_demo(model, arch, args.model, args.out, n=args.n, ig_steps=args.ig_steps, dpi=args.dpi)
    print(result.table, end="")
    for path in result.figure_paths + [result.table_path]:
        print(f"wrote {path}")
    print(f"done in {result.seconds:.1f} s")
    return 0


def run_demo_command(args):
    import matplotlib

    matplotlib.use("Agg")
    if args.dataset == PHOTOS:
        return run_photo_demo_command(args)
    from .demo import run_demo

    _check_small_arch(args.arch, args.dataset)
    _check_writable_dir(args.out)
    model, data = _load_model(args.dataset, args.arch, path=args.model)
    shown = "bundled" if args.model is None else args.model
    result = run_demo(model, data, args.dataset, n=args.n or 6, out=args.out, model_path=shown,
                      ig_steps=args.ig_steps, dpi=args.dpi)
    print(f"{args.dataset}: {type(model).__name__} ({shown} weights), test accuracy {result.accuracy:.1%}")
    wrong = [int(i) for i, y, p in zip(result.indices, result.labels, result.predictions) if y != p]
    print(f"images: test indices {result.indices.tolist()}"
          + (f" (misclassified: {wrong})" if wrong else " (no misclassified test image)"))
    print(f"{'method':<24}{'completeness err':>18}{'ms/image':>10}{'r with IG':>11}{'class disc.':>13}")
    for name, row in result.rows.items():
        completeness = "n/a" if row["completeness"] is None else f"{row['completeness']:.1e}"
        print(f"{name:<24}{completeness:>18}{row['ms_per_image']:>10.2f}{row['pearson_ig']:>11.3f}"
              f"{row['class_discrimination']:>13.3f}")
    print(f"wrote {result.figure_path}")
    print(f"wrote {result.table_path}")
    print(f"done in {result.seconds:.1f} s")
    return 0


# ---- explain ------------------------------------------------------------------------------------
def _parse_methods(text):
    from .registry import names

    known = names(beyond_demo=True)
    chosen = [m.strip() for m in text.split(",") if m.strip()]
    if chosen == ["all"]:
        return list(names())  # the poster's methods, as in the demo
    unknown = [m for m in chosen if m not in known]
    if unknown or not chosen:
        raise UsageError(f"--method: unknown method {', '.join(map(repr, unknown)) or repr(text)}; "
                         f"choose from all, {', '.join(known)}")
    return list(dict.fromkeys(chosen))


def load_image(path, input_shape):
    """Read an image file and convert it to one model input (1, C, H, W), float64 in [0, 1].

    matplotlib.image.imread reads it ((H, W), (H, W, 3) or (H, W, 4); 8-bit files are divided
    by 255); an alpha channel is dropped; RGB → grey by luminance 0.299 R + 0.587 G + 0.114 B
    (ITU-R BT.601) when the model takes one channel, grey → RGB by repeating it when it takes
    three; then a bilinear resize to (H, W) with half-pixel centres (minicnn.functional.interpolate).
    """
    import matplotlib.image as mpimg

    import minicnn.functional as F

    if not os.path.isfile(path):
        raise CLIError(f"image file not found: {path}")
    try:
        picture = np.asarray(mpimg.imread(path))
    except Exception as error:  # PIL and matplotlib raise many kinds for a bad file
        raise CLIError(f"cannot read image {path}: {error}") from None
    if picture.dtype.kind in "iu":
        picture = picture / float(np.iinfo(picture.dtype).max)
    picture = picture.astype(np.float64)
    if picture.ndim == 3 and picture.shape[-1] in (2, 4):  # grey+alpha or RGBA: drop alpha
        picture = picture[..., :-1]
    if picture.ndim == 3 and picture.shape[-1] == 1:
        picture = picture[..., 0]
    if not (picture.ndim == 2 or (picture.ndim == 3 and picture.shape[-1] == 3)) or min(picture.shape[:2]) < 1:
        raise CLIError(f"cannot use image {path}: expected a grey or RGB picture, got an array of shape {picture.shape}")
    channels, height, width = input_shape
    if picture.ndim == 3 and channels == 1:
        picture = picture @ np.array([0.299, 0.587, 0.114])
    if picture.ndim == 2:
        picture = np.repeat(picture[None], channels, axis=0)
    else:
        picture = np.moveaxis(picture, -1, 0)
        if channels != 3:
            raise CLIError(f"cannot convert an RGB image to {channels} channels")
    resized = F.interpolate(picture[None], (height, width)).data
    return np.clip(resized, 0.0, 1.0)


def _small_target(text, dataset):
    """--target for a small dataset: None or "top" → None (the predicted class), else an int."""
    if text is None or text == "top":
        return None
    try:
        return int(text)
    except ValueError:
        raise UsageError(f"--target: expected top or a class index for {dataset}, got {text!r} "
                         "(class names are accepted with an ImageNet --arch)") from None


def run_photo_explain_command(args):
    """explain with an ImageNet --arch: Figure 1 (2 × 3 panels) for one photograph."""
    from .imagenet_weights import load_imagenet_model, missing_weights_message
    from .outputs import check_output_file, save_figure
    from .photos import explain_photo, format_probability, parse_target, read_photo, top_classes
    from .plots import photo_figure

    arch = args.arch
    if args.dataset is not None:
        raise UsageError(f"--dataset {args.dataset}: {arch} is an ImageNet model (1000 classes, 224×224 photos); "
                         "leave --dataset out")
    if args.method != "all":
        raise UsageError(f"--method {args.method}: the ImageNet figure always shows DeepLIFT, Integrated Gradients "
                         "and Grad-CAM; leave --method out")
    check_output_file(args.out)
    target = parse_target(args.target)
    if args.model is None:
        raise UsageError(missing_weights_message(arch))
    x, notes = read_photo(args.image)
    for note in notes:
        print(f"note: {args.image}: {note}", file=sys.stderr)
    model = load_imagenet_model(arch, args.model)
    explanation = explain_photo(model, x, arch, target, ig_steps=args.ig_steps)
    fig = photo_figure(explanation, f"{os.path.basename(args.image)}\n(224×224 centre crop)",
                       f"{arch} ({args.model})")
    save_figure(fig, args.out, args.dpi)
    print(f"{args.image} → {arch} ({args.model})")
    print("top-5: " + ", ".join(f"{name} ({i}) {format_probability(p)}" for i, name, p in top_classes(explanation.probabilities)))
    deltas = ", ".join(f"{k} {v:.2e}" for k, v in explanation.deltas.items())
    print(f"explained class {explanation.target} ({_imagenet_name(explanation.target)}); Grad-CAM also for "
          f"{explanation.contrast} ({_imagenet_name(explanation.contrast)}); completeness Σ − Δt: {deltas}")
    times = ", ".join(f"{k} {v:.1f} s" for k, v in explanation.seconds.items())
    print(f"wrote {args.out} ({times})")
    return 0


def _imagenet_name(index):
    from minicnn.data import imagenet_classes

    return imagenet_classes()[index]


def run_explain_command(args):
    import matplotlib

    matplotlib.use("Agg")
    if args.arch is not None and _is_imagenet(args.arch):
        return run_photo_explain_command(args)
    import minicnn as mc
    from minicnn.models import weights_path

    from .outputs import save_figure
    from .plots import explanation_figure
    from .registry import get

    args.dataset = args.dataset or "digits"
    methods = _parse_methods(args.method)
    requested = _small_target(args.target, args.dataset)
    out_dir = os.path.dirname(os.path.abspath(args.out))
    _check_writable_dir(out_dir)
    model, data = _load_model(args.dataset, args.arch, args.model)
    if requested is not None and not 0 <= requested < data.n_classes:
        raise UsageError(f"--target: expected a class index in [0, {data.n_classes - 1}] for {args.dataset}, got {requested}")
    x = load_image(args.image, data.input_shape)
    with mc.no_grad():
        logits = model(x).data[0]
    probabilities = np.exp(logits - logits.max())
    probabilities /= probabilities.sum()
    predicted = int(logits.argmax())
    target = predicted if requested is None else requested
    maps = {get(name).title: get(name)(model, x, target, steps=args.ig_steps) for name in methods}
    fig = explanation_figure(x[0], maps, f"input ({data.input_shape[1]}×{data.input_shape[2]})",
                             f"target: {data.classes[target]} (logit {logits[target]:.2f}, p = {probabilities[target]:.2f}); "
                             f"predicted: {data.classes[predicted]} (p = {probabilities[predicted]:.2f})")
    try:
        save_figure(fig, args.out, args.dpi)  # atomically: a failed write leaves no half file
    except ValueError as error:  # e.g. an unknown file extension
        raise UsageError(f"--out {args.out}: {error}") from None
    top = np.argsort(-probabilities)[:3]
    print(f"{args.image} as {data.input_shape} input to {type(model).__name__} ({args.model or weights_path(args.dataset)})")
    print("top classes: " + ", ".join(f"{data.classes[k]} {probabilities[k]:.2f}" for k in top))
    print(f"explained class {target} ({data.classes[target]}) with {', '.join(methods)}")
    print(f"wrote {args.out}")
    return 0


# ---- main ---------------------------------------------------------------------------------------
def main(argv=None):
    """Run the command line; returns the exit code (0 ok, 1 runtime error, 2 usage error)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit as done:  # --help
            return done.code if isinstance(done.code, int) else 0
        handler = {"demo": run_demo_command, "explain": run_explain_command, "compare": run_compare_command,
                   "reproduce": run_reproduce_command}[args.command]
        code = handler(args)
        return int(code) if isinstance(code, (int, np.integer)) else 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except CLIError as error:
        if debug:
            if error.details:
                print(error.details, file=sys.stderr)
            raise
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except Exception as error:  # anything unforeseen: still one line unless --debug
        if debug:
            raise
        message = str(error).splitlines()[0] if str(error) else ""
        print(f"error: {type(error).__name__}: {message} (rerun with --debug for the traceback)", file=sys.stderr)
        return 1
