"""The application layer, apart from the methods: what `python -m attributions` runs.

    registry.py  the one method registry (name, function, label, needs baseline / layer, claims)
    cli.py       the command line: demo | explain | compare, exit codes, one-line errors
    demo.py      the main job: Figure 1 and the measured Table 1 for a bundled model
    compare.py   every method × every metric: compute → CompareResults → render
    plots.py     the figures of the commands (explain's overlay, compare's curves and scatter)
    statistics.py  mean ± standard error of per-image values, for the reports
"""
