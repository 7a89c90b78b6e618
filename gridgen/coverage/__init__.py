"""Coverage and governance figures: walking network, station coverage, governance tables, siting."""
