"""ChainAtlas recommend stage."""
