"""The demo: simulated submissions and the whole year on sample data."""
