"""The template spec, the template builder, per-unit stamping and the office's signature."""
