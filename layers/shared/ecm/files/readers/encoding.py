"""Which text encoding a CSV file is in.

UTF-16 by its byte-order mark (Excel's "Unicode Text"); UTF-8 when every byte decodes as
UTF-8 (with or without a BOM); otherwise the legacy code page spreadsheet programs save CSV
in ("CSV (Windows)", "CSV (MS-DOS)", "CSV (Macintosh)"), chosen by charset-normalizer's
measure of how garbled each decoding reads. Short files leave several code pages equally
clean ("Jos\\x82" is "José" in code page 437 and "Jos‚" in Windows-1252): among those, the
one that turns the most non-ASCII bytes into letters wins, since these files hold names
(and a file whose best reading is not mostly letters is refused: it is not text).
When two code pages still read the file equally well, the guess is weak and a warning says
so, naming both.
"""

from __future__ import annotations

import codecs
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from charset_normalizer import from_bytes

from ecm.errors import FileFormatError

#: Code pages spreadsheet programs write CSV in, the most common first (ties go to it).
LEGACY_ENCODINGS = ("cp1252", "cp437", "cp850", "mac_roman")
LABELS = {
    "utf-8-sig": "UTF-8",
    "utf-16": "UTF-16",
    "cp1252": "Windows-1252",
    "cp437": "MS-DOS (code page 437)",
    "cp850": "MS-DOS Latin-1 (code page 850)",
    "mac_roman": "Mac Roman",
}
#: Decodings whose garble measure is this close to the cleanest are equally clean.
CHAOS_MARGIN = 0.05
#: What the detector reads of a large file (it samples within it).
SAMPLE_BYTES = 4 << 20
#: Below this share of plausible characters among the non-ASCII ones, no code page reads
#: the file as text: random bytes decode as ~50-65% letters, names and addresses as ~100%.
PLAUSIBLE_SHARE = 0.75
#: Typographic marks that text saved by spreadsheet programs holds besides letters.
_TYPOGRAPHY = frozenset("\xa0‘’‚“”„–—…•·°§©®™¿¡«»ªº€£¥¢")
_ASCII = bytes(range(128))


@dataclass(frozen=True)
class TextEncoding:
    codec: str
    #: set when the encoding is a weak guess
    warning: str | None = None


def _decodes(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    with path.open("rb") as handle:
        try:
            while block := handle.read(1 << 20):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def _non_ascii_bytes(path: Path) -> Counter[int]:
    counts: Counter[int] = Counter()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            counts.update(block.translate(None, _ASCII))
    return counts


def _letter_share(counts: Counter[int], encoding: str) -> float:
    """The share of non-ASCII bytes that decode to letters (or typographic marks)."""
    total = sum(counts.values())
    letters = sum(
        n
        for byte, n in counts.items()
        if (char := bytes([byte]).decode(encoding)).isalpha() or char in _TYPOGRAPHY
    )
    return letters / total if total else 1.0


def detect_encoding(path: Path) -> TextEncoding:
    """The codec to read ``path`` with; ``FileFormatError`` when no code page reads it."""
    with path.open("rb") as handle:
        head = handle.read(SAMPLE_BYTES)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return TextEncoding("utf-16")
    if _decodes(path, "utf-8"):
        return TextEncoding("utf-8-sig")
    matches = [
        m
        for m in from_bytes(head, cp_isolation=list(LEGACY_ENCODINGS))
        if m.encoding in LEGACY_ENCODINGS
    ]
    clean = [m for m in matches if _decodes(path, m.encoding)]
    if not clean:
        raise FileFormatError(
            "Invalid CSV format: the file is not UTF-8 text, and no code page reads it "
            "cleanly; save it as CSV UTF-8 and upload it again"
        )
    cleanest = min(m.chaos for m in clean)
    counts = _non_ascii_bytes(path)
    contenders = sorted(
        (
            (-_letter_share(counts, m.encoding), LEGACY_ENCODINGS.index(m.encoding), m.encoding)
            for m in clean
            if m.chaos <= cleanest + CHAOS_MARGIN
        ),
    )
    share, _, chosen = contenders[0]
    if -share < PLAUSIBLE_SHARE:
        raise FileFormatError(
            "Invalid CSV format: the file is not UTF-8 text, and no code page reads it as "
            "names and addresses; save it as CSV UTF-8 and upload it again"
        )
    rivals = [
        name
        for other_share, _, name in contenders[1:]
        if other_share - share < 0.1 and _decoded_differently(counts, chosen, name)
    ]
    if not rivals:
        return TextEncoding(chosen)
    return TextEncoding(
        chosen,
        f"The file is not UTF-8; it was read as {LABELS[chosen]}, but "
        f"{' or '.join(LABELS[r] for r in rivals)} reads it as well: check accented names, "
        "or save the file as CSV UTF-8 and import it again",
    )


def _decoded_differently(counts: Counter[int], first: str, second: str) -> bool:
    raw = bytes(counts)
    return raw.decode(first) != raw.decode(second)
