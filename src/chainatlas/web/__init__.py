"""ChainAtlas web stage."""
