"""Year-end award paperwork: decision, list, certificates and submission upward, as Word documents."""
