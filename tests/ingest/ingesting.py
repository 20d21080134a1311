"""The call the pipeline tests make: ingest into the collection 'docs', no progress bar."""

from ingest.pipeline import ingest_paths


def run(settings, embedder, paths, **kwargs):
    return ingest_paths(settings, paths, collection="docs", embedder=embedder, show_progress=False, **kwargs)
