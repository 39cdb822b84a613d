"""Review: scoring, classification and commendations."""
