"""Bundled data: the 2019 plan, the sample register and the store schema."""
