"""A year of the movement: its working set (plan, register, key, store) and what carries it into the next."""
