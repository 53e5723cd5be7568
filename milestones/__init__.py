"""Historical milestones that run on your own tinytorch; `python -m milestones --help`."""
