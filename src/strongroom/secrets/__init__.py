"""The secrets vault (versions, paths, grants) and shares of one value (shares*.py)."""
