"""The browser app served by the API itself: Jinja2 pages under ``templates/``, plain JavaScript
and CSS under ``static/`` (no build step, nothing loaded from the network). ``install_web``
(``service.web.routes``) mounts it on the FastAPI app."""
