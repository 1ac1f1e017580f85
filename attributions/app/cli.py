"""The command line: `python -m attributions demo | explain | compare | reproduce`.

    python -m attributions demo                                   # digits, 6 images, ./attributions_demo
    python -m attributions demo --dataset shapes --n 4 --out runs/shapes
    python -m attributions explain --image my_digit.png --target 3 --method integrated_gradients,grad_cam
    python -m attributions explain --model w.npz --arch lenet --dataset digits --image x.png --out x_expl.png
    python -m attributions compare --dataset shapes --n 100     # attributions/app/compare.py
    python -m attributions explain --data DIR --model w.npz --arch lenet --image x.png   # your images
    python -m attributions compare --data DIR --model w.npz --arch lenet                 # (user_data.py)
    python -m attributions reproduce ig-convergence [--quick]   # attributions/reproduce/

    python -m attributions explain --arch resnet50 --weights resnet50.safetensors --image cat.jpg [--target tabby]
    python -m attributions demo --dataset photos --arch resnet18 --weights resnet18.safetensors

`explain` takes the input shape and the class names from `--dataset` (the dataset the weights
were trained on): the image is converted to that shape. `--arch` and `--model` default to the
bundled model of that dataset. `--data DIR` (an ImageFolder, DIR/<class>/<image>) takes the
place of `--dataset` for your own images; a digit for the digits model is read as scikit-learn's digits were
made (`--preprocess`), and a one-line warning says when an input is unlike the training images
(ood.py). With an ImageNet architecture (`minicnn.models.IMAGENET`) it
writes the poster's Figure 1 for a photograph instead (attributions/app/photos.py): the weights
are the user's own file (`--weights`, an alias of `--model`; nothing is bundled or downloaded),
the photo goes through torchvision's pipeline, `--target` is `top`, a class index or an ImageNet
class name.

Exit codes: 0 success; 2 the command line is wrong (unknown subcommand, option, dataset,
architecture or method name, bad number, a number out of its range, an ImageNet --arch without
--weights, a --target that is not a class); 1 a well-formed command failed while running (a file
missing, unreadable or above the pixel limit, weights not matching the architecture, an
unwritable output); 130 interrupted (Ctrl-C). Errors are one line `error: …` on stderr (a weights
mismatch names the first keys; `--debug` prints the full key lists and the traceback). Notes
(`note: …`, e.g. an image stretched to the model's shape) do not stop the command.

Outputs are all-or-nothing: whether `--out` can be written and the figure's size are checked
before any work; files are written under temporary names (a directory of outputs as a temporary
directory next to `--out`) and renamed into place at the end, so a failed or interrupted run
leaves nothing behind (attributions/app/outputs.py). `--save` also writes the results as an
`.npz` (inputs, targets, class scores, baseline, one array per method).
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from typing import Optional, Sequence

import numpy as np

from .arguments import MAX_DPI, MIN_DPI, DefaultsFormatter, Parser, dpi, positive_int
from .errors import CLIError, UsageError, mismatch_details

__all__ = ["main", "build_parser", "CLIError", "UsageError", "load_image"]

PROG = "python -m attributions"
PHOTOS = "photos"  # demo --dataset photos: the bundled photographs, explained by an ImageNet model


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


def _add_save(parser: argparse.ArgumentParser, where: str) -> None:
    parser.add_argument("--save", action="store_true",
                        help=f"also write the results as data: {where} (inputs x, targets, class scores, the baseline "
                             "x′ = 0 and one attribution array per method; np.load(path, allow_pickle=False))")


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of the three subcommands (methods and defaults from the registry)."""
    from . import compare, user_data
    from .registry import IG_STEPS, names

    parser = Parser(prog=PROG, description="Attribution methods on minicnn models: DeepLIFT, Integrated Gradients, Grad-CAM.",
                    formatter_class=DefaultsFormatter)
    _add_common(parser)
    commands = parser.add_subparsers(dest="command", metavar="{demo,explain,compare,reproduce}", parser_class=Parser)
    commands.required = True
    datasets = _dataset_names()

    demo = commands.add_parser("demo", formatter_class=DefaultsFormatter,
                               help="explain a few test images of a bundled model; write figure1.png and table1.md "
                                    "(--dataset photos: Figure 1 per photograph and top5.md)",
                               description="Explain a few test images of a bundled model with every method of the poster "
                                           "and measure Table 1. Writes figure1.png and table1.md into the folder --out "
                                           "(default: ./attributions_demo); with --dataset photos, figure1_<photo>.png "
                                           "per bundled photograph and top5.md.")
    demo.add_argument("--dataset", choices=datasets + [PHOTOS], default="digits",
                      help="bundled dataset and model (default: digits); photos: the bundled photographs, "
                           "explained by an ImageNet --arch with your --weights")
    demo.add_argument("--arch", choices=_arch_names(),
                      help="architecture (default: the dataset's bundled one; photos: resnet18)")
    _add_weights(demo, "weights (.npz) for the dataset's bundled architecture instead of the bundled ones; "
                       "photos: ImageNet weights for --arch (.npz, .safetensors or .pth)")
    demo.add_argument("--n", type=positive_int, help=f"number of test images, at most {DEMO_MAX_N} (one figure row "
                                                     "each; default: 6; photos: all 8)")
    demo.add_argument("--out", metavar="DIR", default="attributions_demo", help="output directory (default: ./attributions_demo)")
    demo.add_argument("--ig-steps", type=positive_int, default=IG_STEPS, help=f"Integrated Gradients steps (default: {IG_STEPS})")
    demo.add_argument("--dpi", type=dpi, default=100, help=f"resolution of figure1.png in dots per inch, {MIN_DPI} to {MAX_DPI} (default: 100)")
    _add_save(demo, "attributions.npz in --out")
    _add_common(demo)

    explain = commands.add_parser("explain", formatter_class=DefaultsFormatter,
                                  help="explain your own image; write an overlay figure",
                                  description="Explain your own image with the chosen methods; write one figure "
                                              "(the input and an overlay per method) to --out.")
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
    explain.add_argument("--ig-steps", type=positive_int, default=IG_STEPS, help=f"Integrated Gradients steps (default: {IG_STEPS})")
    explain.add_argument("--dpi", type=dpi, default=120, help=f"resolution of the figure in dots per inch, {MIN_DPI} to {MAX_DPI} (default: 120)")
    _add_save(explain, "the figure's name with .npz, beside it")
    user_data.add_data_arguments(explain)
    user_data.add_preprocess_argument(explain)
    _add_common(explain)

    compare_parser = commands.add_parser("compare", formatter_class=DefaultsFormatter,
                                         help="every method × every metric on a bundled model or yours; "
                                              "write compare.md and its figures",
                                         description=compare.DESCRIPTION)
    compare.add_arguments(compare_parser)
    user_data.add_model_arguments(compare_parser)
    user_data.add_data_arguments(compare_parser)
    _add_common(compare_parser)

    from ..reproduce import command as reproduce  # issue 16: published experiments, rerun
    reproduce_parser = commands.add_parser("reproduce", help="rerun a published experiment (or all); write "
                                                             "docs/reproductions/NAME.md and the index")
    reproduce.add_arguments(reproduce_parser)
    _add_common(reproduce_parser)
    return parser


def run_compare_command(args):
    from . import compare, user_data
    from .outputs import check_output_directory

    if args.out:  # before loading anything; the default name needs the dataset's name
        check_output_directory(args.out)
    if user_data.uses_user_model(args):
        model, data, shown = user_data.load_user_model(args, default_dataset=compare.DEFAULT_DATASET)
    else:
        model, data = _load_model(args.dataset or compare.DEFAULT_DATASET, args.arch)
        shown = "bundled"
    args.dataset = args.dataset or data.name
    check_output_directory(compare.output_path(args))
    problem = compare.check_args(args, len(data.x_test))
    if problem:
        raise UsageError(problem)
    note = user_data.localisation_note(args, data)
    if note:
        print(f"note: {note}", file=sys.stderr)
    return compare.run(args, model, data, model_label=shown)


def run_reproduce_command(args):
    import matplotlib

    matplotlib.use("Agg")
    from ..reproduce.command import run_command

    return run_command(args)


# ---- demo -------------------------------------------------------------------------------------
DEMO_MAX_N = 50  # figure1.png has one row per image; `compare` is the command for many images


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
    except WeightsFileError as error:
        raise CLIError(str(error)) from None
    except nn.StateDictError as error:
        raise CLIError(str(error), details=mismatch_details(error)) from None


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
    from minicnn.data import PHOTOS as BUNDLED_PHOTOS

    from .imagenet_weights import load_imagenet_model, missing_weights_message
    from .outputs import check_figure_pixels, check_output_directory
    from .photos import run_photo_demo
    from .plots import PHOTO_FIGSIZE

    arch = args.arch or "resnet18"
    _check_imagenet_arch(arch, f"--dataset {PHOTOS}")
    if args.model is None:
        raise UsageError(missing_weights_message(arch))
    _check_n(args.n, len(BUNDLED_PHOTOS), "bundled photographs")
    check_figure_pixels(PHOTO_FIGSIZE, args.dpi, "each figure1_<photo>.png")
    check_output_directory(args.out)
    model = load_imagenet_model(arch, args.model)
    result = run_photo_demo(model, arch, args.model, args.out, n=args.n, ig_steps=args.ig_steps, dpi=args.dpi,
                            save=args.save)
    print(result.table, end="")
    for path in result.figure_paths + [result.table_path] + ([result.arrays_path] if args.save else []):
        print(f"wrote {path}")
    print(f"done in {result.seconds:.1f} s")
    return 0


def run_demo_command(args):
    import matplotlib

    matplotlib.use("Agg")
    if args.dataset == PHOTOS:
        return run_photo_demo_command(args)
    from .. import visualize
    from .demo import run_demo
    from .outputs import check_figure_pixels, check_output_directory
    from .registry import names

    _check_small_arch(args.arch, args.dataset)
    n = args.n or 6
    if n > DEMO_MAX_N:
        raise UsageError(f"--n: expected at most {DEMO_MAX_N} images (figure1.png has one row per image; "
                         f"`compare --n` measures many), got {n}")
    check_figure_pixels(visualize.grid_size(n, len(names())), args.dpi, "figure1.png", "lower --dpi or --n")
    check_output_directory(args.out)
    model, data = _load_model(args.dataset, args.arch, path=args.model)
    _check_n(n, len(data.x_test), f"{args.dataset} test images")
    shown = "bundled" if args.model is None else args.model
    result = run_demo(model, data, args.dataset, n=n, out=args.out, model_path=shown,
                      ig_steps=args.ig_steps, dpi=args.dpi, save=args.save)
    print(f"{args.dataset}: {type(model).__name__} ({shown} weights), test accuracy {result.accuracy:.1%}")
    wrong = [int(i) for i, y, p in zip(result.indices, result.labels, result.predictions) if y != p]
    print(f"images: test indices {result.indices.tolist()}"
          + (f" (misclassified: {wrong})" if wrong else " (no misclassified test image)"))
    print(f"{'method':<24}{'completeness err':>18}{'ms/image':>10}{'r with IG':>11}{'class disc.':>13}")
    for name, row in result.rows.items():
        completeness = "n/a" if row["completeness"] is None else f"{row['completeness']:.1e}"
        print(f"{name:<24}{completeness:>18}{row['ms_per_image']:>10.2f}{row['pearson_ig']:>11.3f}"
              f"{row['class_discrimination']:>13.3f}")
    for path in (result.figure_path, result.table_path) + ((result.arrays_path,) if args.save else ()):
        print(f"wrote {path}")
    print(f"done in {result.seconds:.1f} s")
    return 0


def _check_n(n, available, what):
    if n is not None and n > available:
        raise UsageError(f"--n: expected at most the {available} {what}, got {n}")


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


def load_image(path: str, input_shape: Sequence[int]) -> np.ndarray:
    """Read an image file and convert it to one model input (1, C, H, W), float64 in [0, 1].

    The header is checked first (`image_files.checked_image_size`: missing, unreadable or above
    Pillow's pixel limit is a CLIError); then the rule every command shares
    (`minicnn.data.image_file`: alpha dropped, BT.601 luminance for one channel, grey repeated
    for three, bilinear resize with half-pixel centres). A tiny picture or a resize that changes
    the aspect ratio by more than 2× warns (`minicnn.data.ImageConversionWarning`; the command
    prints a note)."""
    from minicnn.data import ImageConversionWarning
    from minicnn.data.image_file import ImageFileError, load_input

    from .image_files import checked_image_size, shape_notes

    width, height = checked_image_size(path)
    for note in shape_notes(width, height, (input_shape[1], input_shape[2])):
        warnings.warn(note, ImageConversionWarning, stacklevel=2)
    try:
        return load_input(path, input_shape)
    except ImageFileError as error:
        raise CLIError(str(error)) from None


def _load_image_with_notes(path, input_shape):
    """load_image, its conversion warnings printed as one `note:` line each."""
    from minicnn.data import ImageConversionWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ImageConversionWarning)
        x = load_image(path, input_shape)
    for w in caught:
        if issubclass(w.category, ImageConversionWarning):
            print(f"note: {path}: {w.message}", file=sys.stderr)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return x


def npz_path(figure_path):
    """Where `--save` puts the results of a figure: the same name with .npz."""
    return os.path.splitext(figure_path)[0] + ".npz"


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
    from .outputs import arrays_writer, check_figure_pixels, check_output_file, figure_writer, write_all
    from .photos import explain_photo, format_probability, parse_target, photo_arrays, read_photo, top_classes
    from .plots import PHOTO_FIGSIZE, photo_figure

    arch = args.arch
    if args.dataset is not None:
        raise UsageError(f"--dataset {args.dataset}: {arch} is an ImageNet model (1000 classes, 224×224 photos); "
                         "leave --dataset out")
    if args.method != "all":
        raise UsageError(f"--method {args.method}: the ImageNet figure always shows DeepLIFT, Integrated Gradients "
                         "and Grad-CAM; leave --method out")
    check_output_file(args.out)
    check_figure_pixels(PHOTO_FIGSIZE, args.dpi, args.out)
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
    writers = {args.out: figure_writer(fig, args.out, args.dpi)}
    if args.save:
        writers[npz_path(args.out)] = arrays_writer(photo_arrays({os.path.basename(args.image): explanation}))
    write_all(writers)
    print(f"{args.image} → {arch} ({args.model})")
    print("top-5: " + ", ".join(f"{name} ({i}) {format_probability(p)}" for i, name, p in top_classes(explanation.probabilities)))
    deltas = ", ".join(f"{k} {v:.2e}" for k, v in explanation.deltas.items())
    print(f"explained class {explanation.target} ({_imagenet_name(explanation.target)}); Grad-CAM also for "
          f"{explanation.contrast} ({_imagenet_name(explanation.contrast)}); completeness Σ − Δt: {deltas}")
    times = ", ".join(f"{k} {v:.1f} s" for k, v in explanation.seconds.items())
    print(f"wrote {', '.join(writers)} ({times})")
    return 0


def _imagenet_name(index):
    from minicnn.data import imagenet_classes

    return imagenet_classes()[index]


def run_explain_command(args):
    import matplotlib

    matplotlib.use("Agg")
    from . import user_data

    if args.arch is not None and _is_imagenet(args.arch):
        user_data.reject_folder(args, f"--arch {args.arch}")
        return run_photo_explain_command(args)
    import minicnn as mc
    from minicnn.models import weights_path

    from .image_files import checked_image_size
    from .ood import training_statistics, unfamiliar
    from .outputs import arrays_writer, check_figure_pixels, check_output_file, figure_writer, results_arrays, write_all
    from .plots import explanation_figure, explanation_figure_size
    from .registry import get

    if not args.data:
        args.dataset = args.dataset or "digits"
    methods = _parse_methods(args.method)
    requested = _small_target(args.target, args.dataset or args.data)
    check_output_file(args.out)
    check_figure_pixels(explanation_figure_size(len(methods)), args.dpi, args.out)
    if user_data.uses_user_model(args):
        model, data, shown = user_data.load_user_model(args, default_dataset="digits")
    else:
        model, data = _load_model(args.dataset, args.arch)
        shown = weights_path(args.dataset)
    if requested is not None and not 0 <= requested < data.n_classes:
        raise UsageError(f"--target: expected a class index in [0, {data.n_classes - 1}] for {data.name}, got {requested}")
    checked_image_size(args.image)  # missing, unreadable or too many pixels (the digits pipeline too)
    x, notes = user_data.read_explain_input(args, data, _load_image_with_notes)
    for note in notes:
        print(f"note: {args.image}: {note}", file=sys.stderr)
    with mc.no_grad():
        logits = model(x).data[0]
    probabilities = np.exp(logits - logits.max())
    probabilities /= probabilities.sum()
    for warning in unfamiliar(training_statistics(model, data), x, probabilities):
        print(f"warning: {args.image}: {warning}", file=sys.stderr)
    predicted = int(logits.argmax())
    target = predicted if requested is None else requested
    maps = {name: get(name)(model, x, target, steps=args.ig_steps) for name in methods}
    fig = explanation_figure(x[0], {get(name).title: a for name, a in maps.items()},
                             f"input ({data.input_shape[1]}×{data.input_shape[2]})",
                             f"target: {data.classes[target]} (logit {logits[target]:.2f}, p = {probabilities[target]:.2f}); "
                             f"predicted: {data.classes[predicted]} (p = {probabilities[predicted]:.2f})")
    writers = {args.out: figure_writer(fig, args.out, args.dpi)}
    if args.save:
        writers[npz_path(args.out)] = arrays_writer(results_arrays(x, [target], logits[None], maps, data.classes))
    try:
        write_all(writers)  # atomically: a failed write leaves no half file, and the figure and .npz go together
    except ValueError as error:  # e.g. a format matplotlib does not write
        raise UsageError(f"--out {args.out}: {error}") from None
    top = np.argsort(-probabilities)[:3]
    print(f"{args.image} as {data.input_shape} input to {type(model).__name__} ({shown})")
    print("top classes: " + ", ".join(f"{data.classes[k]} {probabilities[k]:.2f}" for k in top))
    print(f"explained class {target} ({data.classes[target]}) with {', '.join(methods)}")
    for path in writers:
        print(f"wrote {path}")
    return 0


# ---- main ---------------------------------------------------------------------------------------
def main(argv: Optional[Sequence[str]] = None) -> int:
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
    except KeyboardInterrupt:  # the outputs' temporary files and directories are already removed
        print("error: interrupted; nothing was written", file=sys.stderr)
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
