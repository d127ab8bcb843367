"""The rule kinds: one module per family, each a pure function of a batch view and its state."""
