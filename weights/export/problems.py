"""Errors of the exporter: every problem found, grouped by kind, readable however many there are.

An :class:`ExportError` is either one sentence (``"x.pth: no such file"``) or a report built from
:class:`Problems`: a first line naming the file and the count, then per kind one line with its count and,
where one helps, a hint (an option that fixes or silences it), then at most :data:`SHOWN` items of that
kind, one per line, and how many more there are.
"""

SHOWN = 10

#: kind -> (what a line says about the items, hint or None); the report lists kinds in this order
KINDS = {
    "load": ("cannot be read", "--trust-pickle loads a pickle that names other classes (only for files you trust)"),
    "structure": ("cannot tell how the checkpoint maps onto the model", None),
    "activation": ("activations the engine does not have", "supported: relu, leaky_relu, sigmoid, tanh"),
    "unrepresentable": ("structures the weight format cannot express", None),
    "geometry": ("geometry that contradicts the checkpoint",
                 "--preset NAME sets a project's geometry (medicalnet-r10..r50, hara-r10..r50, monai-r10..r50); "
                 "--module checks any other against your PyTorch code"),
    "unmapped": ("source keys that map onto nothing",
                 "--drop REGEX ignores keys that are not part of the model (optimizer state, embeddings, EMA copies)"),
    "missing": ("tensors the model needs that are not there",
                "another geometry (--preset) or a second file (--checkpoint FILE) may supply them"),
    "misshaped": ("tensors whose shape is not the one the geometry implies",
                  "the geometry may be wrong: --preset NAME, or fix the config's backbone"),
    "unexpected": ("tensors the model does not have", None),
    "nonfinite": ("tensors holding NaN or infinity", None),
    "mismatch": ("the exported model does not compute what your module computes", None),
}


class ExportError(ValueError):
    """Bad input to the exporter; the message names the file and every problem found."""

    @classmethod
    def report(cls, where, problems):
        return cls(problems.render(where))


class Problems:
    """Problems collected while exporting, by kind (a key of :data:`KINDS`); hints=False for a file that is
    read rather than exported (the exporter's options do not help there)."""

    def __init__(self, hints=True):
        self.items = {}
        self.hints = hints

    def add(self, kind, item):
        if kind not in KINDS:
            raise KeyError(kind)
        self.items.setdefault(kind, []).append(str(item))

    def extend(self, kind, items):
        for item in items:
            self.add(kind, item)

    def __bool__(self):
        return bool(self.items)

    def count(self):
        return sum(len(v) for v in self.items.values())

    def render(self, where):
        """The report: ``where: N problems``, then per kind its count, hint and first :data:`SHOWN` items."""
        n = self.count()
        lines = ["%s: %d problem%s" % (where, n, "" if n == 1 else "s")]
        for kind, (what, hint) in KINDS.items():
            items = self.items.get(kind)
            if not items:
                continue
            lines.append("  %d %s%s" % (len(items), what, " (hint: %s)" % hint if hint and self.hints else ""))
            lines.extend("    " + " ".join(i.split()) for i in items[:SHOWN])
            if len(items) > SHOWN:
                lines.append("    ... and %d more" % (len(items) - SHOWN))
        return "\n".join(lines)

    def raise_if_any(self, where):
        if self:
            raise ExportError.report(where, self)
