"""The report as one self-contained HTML file (jinja2, autoescaped; charts inlined as PNG)."""

from __future__ import annotations

import base64

import jinja2

from aedfleet.report.document import Document, Heading, Image, Para, Table


def render(doc: Document) -> str:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("aedfleet.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters["b64"] = lambda data: base64.b64encode(data).decode("ascii")
    environment.tests.update(
        heading=lambda b: isinstance(b, Heading),
        para=lambda b: isinstance(b, Para),
        table=lambda b: isinstance(b, Table),
        image=lambda b: isinstance(b, Image),
    )
    return environment.get_template("report.html").render(doc=doc)
