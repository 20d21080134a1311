"""A document of 20 sentences of varied prose in 6 paragraphs, and two edited copies: one word
replaced by a long name (many word pieces, so every chunk boundary after it moves), and the
last paragraph replaced by new text."""

PARAGRAPHS = [
    "The lighthouse keeper climbed the spiral stairs every evening at dusk. "
    "Salt spray had etched patterns into the thick glass of the lantern room. "
    "Ships passing the northern reef relied on the steady white beam. "
    "In winter the storms arrived without warning from the open sea.",
    "Fishermen in the village mended their nets beside the harbour wall. "
    "Their children collected driftwood and sold it to the bakery. "
    "The baker used the wood to fire an old brick oven each morning. "
    "Bread from that oven was famous across three neighbouring valleys.",
    "A travelling botanist once catalogued the mosses growing on the cliffs. "
    "She found a rare species that glowed faintly under moonlight.",
    "Her notebooks were later donated to the university library. "
    "Students still visit the archive to read her careful drawings. "
    "The railway reached the coast only after the second war. "
    "Before that, goods travelled by cart along a narrow mountain road.",
    "Merchants paid a toll at the bridge over the river crossing. "
    "The toll house is now a small museum of local history. "
    "Its curator restores clocks in a workshop behind the gallery. "
    "Visitors can hear dozens of them chime together at noon.",
    "On quiet evenings the harbour reflects the lights of the cafes. "
    "Nobody remembers exactly when the lighthouse was finally automated.",
]
NEW_PARAGRAPH = (
    "A solar observatory was built on the headland to photograph eclipses. Its copper dome turns green in the rain."
)
DOCUMENT = "\n\n".join(PARAGRAPHS)
ONE_WORD_EDIT = DOCUMENT.replace("The lighthouse keeper", "The Llanfairpwllgwyngyll keeper", 1)
PARAGRAPH_EDIT = "\n\n".join(PARAGRAPHS[:-1] + [NEW_PARAGRAPH])
CHUNKING = {"chunk_tokens": 64, "chunk_overlap": 16}  # chunks of about five sentences
