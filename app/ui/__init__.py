"""Qt front end: window shell, task bridge, item models."""
