"""The report as an A4 PDF (fpdf2, drawn directly: no browser engine to install), in the CJK
TrueType font from Debian's packages, so Chinese and English both render and the text layer
can be searched and copied."""

from __future__ import annotations

import io
from typing import Final

from fpdf import FPDF
from fpdf.fonts import FontFace

from aedfleet.report.document import Document, Heading, Image, Para, Table
from aedfleet.report.fonts import cjk_font

FONT: Final = "cjk"
ACCENT: Final = (183, 28, 28)


class _Pdf(FPDF):
    def __init__(self, doc: Document) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.doc = doc
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(auto=True, margin=15)
        self.add_font(FONT, "", str(cjk_font()))
        self.set_title(f"{doc.title} {doc.subtitle}")
        self.set_creator("aedfleet report")

    def header(self) -> None:
        if self.page_no() == 1:
            return
        self.set_font(FONT, size=8)
        self.set_text_color(110, 110, 110)
        self.cell(0, 5, f"{self.doc.title} · {self.doc.subtitle}", new_x="LMARGIN", new_y="NEXT")
        self.ln(2)
        self.set_text_color(0, 0, 0)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, size=8)
        self.set_text_color(110, 110, 110)
        self.cell(0, 5, str(self.page_no()), align="C")
        self.set_text_color(0, 0, 0)


def render(doc: Document) -> bytes:
    pdf = _Pdf(doc)
    pdf.add_page()
    pdf.set_font(FONT, size=20)
    pdf.set_text_color(*ACCENT)
    pdf.multi_cell(0, 10, doc.title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(80, 80, 80)
    pdf.set_font(FONT, size=10)
    pdf.multi_cell(0, 6, doc.subtitle, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.ln(4)
    sections = 0
    for block in doc.blocks:
        if isinstance(block, Heading):
            sections += block.level == 1
            # the summary is a page of its own; the other sections follow on
            _heading(pdf, block, new_page=block.level == 1 and sections == 2)
        elif isinstance(block, Para):
            pdf.set_font(FONT, size=9)
            pdf.multi_cell(0, 5, block.text, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
        elif isinstance(block, Table):
            _table(pdf, block)
        elif isinstance(block, Image):
            width = pdf.epw * block.width
            pdf.image(io.BytesIO(block.png), x=pdf.l_margin + (pdf.epw - width) / 2, w=width)
            pdf.ln(3)
    return bytes(pdf.output())


def _heading(pdf: FPDF, heading: Heading, *, new_page: bool) -> None:
    if new_page or pdf.will_page_break(60 if heading.level == 1 else 25):
        pdf.add_page()
    elif heading.level == 1:
        pdf.ln(4)
    if heading.level == 1:
        pdf.set_font(FONT, size=15)
        pdf.set_text_color(*ACCENT)
        pdf.cell(0, 9, heading.text, new_x="LMARGIN", new_y="NEXT")
        pdf.set_draw_color(*ACCENT)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + pdf.epw, pdf.get_y())
        pdf.set_draw_color(0, 0, 0)
        pdf.ln(3)
    else:
        pdf.set_font(FONT, size=11)
        pdf.set_text_color(40, 40, 40)
        pdf.cell(0, 7, heading.text, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
    pdf.set_text_color(0, 0, 0)


def _table(pdf: FPDF, table: Table) -> None:
    pdf.set_font(FONT, size=8)
    has_header = any(table.columns)
    total = sum(table.widths)
    widths = tuple(pdf.epw * w / total for w in table.widths)
    with pdf.table(
        col_widths=widths,
        width=pdf.epw,
        first_row_as_headings=has_header,
        headings_style=FontFace(fill_color=(235, 235, 235)),
        line_height=5,
        padding=1,
        repeat_headings=1,
    ) as grid:
        for row in ([table.columns] if has_header else []) + table.rows:
            cells = grid.row()
            for cell in row:
                cells.cell(cell)
    pdf.ln(3)
