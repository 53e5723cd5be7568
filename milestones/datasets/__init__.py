"""Dataset loaders for the milestones: real file formats, verified downloads, a cache."""
