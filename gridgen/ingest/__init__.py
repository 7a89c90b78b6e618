"""From a district's own files to a gridgen dataset (``gridgen ingest``).

A district hands over community boundaries (a GBK Shapefile in a CGCS2000 Gauss-Krüger
zone), building footprints (EPSG:4490, WGS84 or GCJ-02, sometimes named), compound
outlines (小区 AOIs), roads (an OpenStreetMap extract) and a population ledger (一标三实:
one row per household with an address and door-plate coordinates). The modules, by
concern:

- :mod:`gridgen.ingest.columns`: finding columns by their usual Chinese and English names,
  ``--map`` overrides;
- :mod:`gridgen.ingest.addresses`: address normalisation and parsing (numerals, 栋/幢/号楼,
  full-width characters, the optional 小区 suffix);
- :mod:`gridgen.ingest.ledger`: reading the ledger (header row, coordinates to WGS84,
  duplicates);
- :mod:`gridgen.ingest.sources`: reading the spatial inputs (DBF encodings, CGCS2000 zones,
  ``.osm.pbf``);
- :mod:`gridgen.ingest.roads`: OSM road classes to gridgen's road kinds;
- :mod:`gridgen.ingest.placement`: placing the ledger's buildings on footprints;
- :mod:`gridgen.ingest.report`: the match report (JSON, workbook);
- :mod:`gridgen.ingest.build`: the whole step, files in, validated dataset and report out.
"""
