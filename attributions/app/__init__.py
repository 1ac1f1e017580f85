"""The application layer, apart from the methods: what `python -m attributions` runs.

    registry.py  the one method registry (name, function, label, needs baseline / layer, claims)
    cli.py       the command line: demo | explain | compare | reproduce (attributions/reproduce/), exit codes, one-line errors
    arguments.py the parser: one-line usage errors, checked numbers (--n, --dpi, ...), defaults in --help
    demo.py      the main job: Figure 1 and the measured Table 1 for a bundled model
    photos.py    the main job on an ImageNet CNN: Figure 1 for a photograph (explain, demo --dataset photos)
    imagenet_weights.py  the user's ImageNet weights file → model; Grad-CAM's layer per architecture
    outputs.py   atomic writes: a file, or a directory of outputs, appears only when complete; --save's .npz
    image_files.py  a user's image checked from its header (pixel limit) and notes on a squashed or tiny one
    errors.py    CLIError (exit 1) and UsageError (exit 2), the one-line errors of every command
    compare.py   every method × every metric: compute → CompareResults → render
    plots.py     the figures of the commands (explain's overlay, compare's curves and scatter)
    statistics.py  mean ± standard error of per-image values, for the reports
"""
