"""Review: self-scores against reviewed scores, classification by the rule set, ranks."""
