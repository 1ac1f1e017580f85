"""Course notebooks: percent-format sources in `src/`, built notebooks here, student versions in
`student/`. `python -m tutorials.build` and `python -m tutorials.make_student` regenerate them."""
