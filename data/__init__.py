"""Law as data: the rulebook (read with importlib.resources) and the worked examples."""
