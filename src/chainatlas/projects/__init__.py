"""ChainAtlas projects stage."""
