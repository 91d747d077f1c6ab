"""The tiny Markdown -> HTML converter of the report."""

from __future__ import annotations

import base64

from bayesmeta.review.report import markdown_to_html, md_table, num, prob


def test_tables_headings_lists_and_inline():
    md = "\n".join(
        [
            "# Title <x>",
            "",
            "Some **bold** and `a<b` and [link](http://x.y).",
            "",
            md_table(["a", "b|c"], [[1, "x|y"], [2, "z"]]),
            "",
            "- one",
            "- two",
            "",
            "```",
            "code <here>",
            "```",
        ]
    )
    out = markdown_to_html(md)
    assert "<h1>Title &lt;x&gt;</h1>" in out
    assert "<strong>bold</strong>" in out and "<code>a&lt;b</code>" in out
    assert '<a href="http://x.y">link</a>' in out
    assert "<th>b|c</th>" in out and "<td>x|y</td>" in out and out.count("<tr>") == 3
    assert "<ul><li>one</li><li>two</li></ul>" in out
    assert "<pre><code>code &lt;here&gt;</code></pre>" in out
    assert out.startswith("<!DOCTYPE html>") and out.rstrip().endswith("</html>")


def test_images_are_embedded(tmp_path):
    png = b"\x89PNG\r\n\x1a\nfake"
    (tmp_path / "f").mkdir()
    (tmp_path / "f" / "a.png").write_bytes(png)
    out = markdown_to_html("![A caption](f/a.png)", base=tmp_path)
    assert f"data:image/png;base64,{base64.b64encode(png).decode()}" in out
    assert "<figcaption>A caption</figcaption>" in out


def test_number_formats():
    assert num(float("nan")) == "—" and num(-0.0001) == "0.00" and num(1.234, 3) == "1.234"
    assert prob(0.9999) == "> 0.999" and prob(1e-5) == "< 0.001" and prob(0.5) == "0.500"
