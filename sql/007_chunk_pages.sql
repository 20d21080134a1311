-- PDF pages: the page numbers (from 1) a chunk's character span touches, in order;
-- NULL for a source without pages (text, Markdown, HTML, JSONL rows).
ALTER TABLE chunks ADD COLUMN pages integer[];
