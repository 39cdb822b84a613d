"""The consolidated store: the only door to the data, and every definition of a figure."""
