"""Vietnamese text: normalisation, slugs and collation."""
