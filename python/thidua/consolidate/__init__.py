"""The consolidation job: a folder of returned files into the store."""
