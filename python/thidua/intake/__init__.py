"""Reading what units send: safe opening, reading, legacy text, parsing, validation, feedback."""
