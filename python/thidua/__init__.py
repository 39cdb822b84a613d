"""ThiDua: emulation-movement reporting, validation, consolidation and review for a provincial union."""
__version__ = "2019.1.0"
