"""The mock APOGEE–Kepler survey: a simulated Milky Way giant population with known truth, written in
the real surveys' file formats (allStar, apStar, Kepler llc, seismic catalog)."""
