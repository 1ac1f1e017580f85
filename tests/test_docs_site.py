"""The API reference site (docs/build_site.py, pdoc) builds without a single warning, and has the
pages of the main modules, of the README, the methods reference and the tutorials, linked.

Skipped when pdoc is missing (install the 'docs' extra). About half a minute: pdoc imports and
renders every public module of both packages.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pdoc", reason="pdoc is optional; install the 'docs' extra to build the API site")

ROOT = Path(__file__).resolve().parents[1]

MODULE_PAGES = [
    "minicnn.html", "minicnn/nn.html", "minicnn/functional.html", "minicnn/autograd.html",
    "attributions.html", "attributions/integrated_gradients.html", "attributions/gradcam.html",
    "attributions/deeplift_rules.html", "attributions/lrp_rules.html", "attributions/metrics.html",
    "attributions/captum_names.html", "attributions/inputs.html",
]
GUIDE_PAGES = ["guide.html", "guide/methods.html", "guide/tutorials.html",
               "guide/tutorials/tutorial_06_integrated_gradients.html"]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site, built once in a temporary folder by the same command as the README's, with
    this checkout first on the path (not an installed copy)."""
    output = tmp_path_factory.mktemp("site")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run([sys.executable, "-W", "default", str(ROOT / "docs" / "build_site.py"), str(output)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    return output, run


def test_builds_without_warnings(site):
    _, run = site
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stderr == "", run.stderr


@pytest.mark.parametrize("page", MODULE_PAGES + GUIDE_PAGES)
def test_page_exists(site, page):
    output, _ = site
    assert (output / page).is_file(), sorted(p.name for p in output.iterdir())


def hrefs(path):
    return re.findall(r'(?:href|src)="([^"]+)"', path.read_text(encoding="utf-8"))


def test_the_guide_pages_link_to_each_other_and_nothing_is_broken(site):
    output, _ = site
    readme = output / "guide.html"
    links = {posixpath_join(readme, output, h) for h in hrefs(readme)}
    assert {"guide/methods.html", "guide/tutorials.html", "docs/figure1.png"} <= links, sorted(links)
    assert "guide/tutorials/tutorial_06_integrated_gradients.html" in {
        posixpath_join(output / "guide/tutorials.html", output, h) for h in hrefs(output / "guide/tutorials.html")}
    for page in [output / p for p in GUIDE_PAGES] + sorted((output / "guide").glob("*.html")):
        for href in hrefs(page):
            if re.match(r"[a-z]+:|//", href) or href == "${url}":  # the web; pdoc's search-result template
                continue
            path, _, anchor = href.partition("#")
            target = (page.parent / path).resolve() if path else page
            assert target.exists(), f"{page.relative_to(output)} links to {href}, which is not in the site"
            if anchor and target.suffix == ".html":
                assert f'id="{anchor}"' in target.read_text(encoding="utf-8"), \
                    f"{page.relative_to(output)} links to {href}, which has no such anchor"


def posixpath_join(page, output, href):
    """The site-relative path a relative href of `page` points to (anchors dropped)."""
    return (page.parent / href.split("#")[0]).resolve().relative_to(output.resolve()).as_posix()


def test_the_index_lists_the_packages_and_the_guide(site):
    output, _ = site
    links = {posixpath_join(output / "index.html", output, h) for h in hrefs(output / "index.html")
             if not re.match(r"[a-z]+:|#|//", h)}
    assert {"minicnn.html", "attributions.html", "guide.html"} <= links, sorted(links)


def test_signatures_show_the_type_hints(site):
    output, _ = site
    text = re.sub(r"<[^>]+>", "", (output / "attributions/integrated_gradients.html").read_text(encoding="utf-8"))
    assert re.search(r"steps:\s*int\s*=\s*50", text)
    assert re.search(r"return_delta:\s*bool\s*=\s*False", text)
