"""ChainAtlas chains stage."""
