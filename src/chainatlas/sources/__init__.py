"""ChainAtlas sources stage."""
