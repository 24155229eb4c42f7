"""Care supply and access-to-care indicators (official loaders, densities, 2SFCA)."""
