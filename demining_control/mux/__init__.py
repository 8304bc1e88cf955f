"""Command arbitration (twist_mux-style) between the motion sources and the safety supervisor."""
