"""The year's plan and the register of units: data model and loaders."""
