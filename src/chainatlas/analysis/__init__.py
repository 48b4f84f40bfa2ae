"""ChainAtlas analysis stage."""
