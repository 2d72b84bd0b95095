"""The built-in ``nginx`` and ``httpd`` images: a static web server answering with the stock default page.

Run as ``python -m podnet.images.webserver --port 80 --title nginx|httpd`` (pods run it by path with ``-I``;
see registry.py). ``/`` and ``/index.html`` give the page the real image ships, anything else the server's
own 404 page, with its ``Server`` header, so tests that grep for "Welcome to nginx!" or "It works!" pass.
SIGTERM, SIGINT and SIGQUIT end it with status 0, as nginx's fast and graceful shutdowns do.
"""

import os
import sys

if __name__ == "__main__" and not __package__:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import signal
from dataclasses import dataclass

from podnet.images.httpserver import HTTPServer, Request, Response, go_log

NGINX_INDEX = """<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
<style>
html { color-scheme: light dark; }
body { width: 35em; margin: 0 auto;
font-family: Tahoma, Verdana, Arial, sans-serif; }
</style>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the nginx web server is successfully installed and
working. Further configuration is required.</p>

<p>For online documentation and support please refer to
<a href="http://nginx.org/">nginx.org</a>.<br/>
Commercial support is available at
<a href="http://nginx.com/">nginx.com</a>.</p>

<p><em>Thank you for using nginx.</em></p>
</body>
</html>
"""

NGINX_404 = """<html>
<head><title>404 Not Found</title></head>
<body>
<center><h1>404 Not Found</h1></center>
<hr><center>nginx</center>
</body>
</html>
"""

HTTPD_INDEX = "<html><body><h1>It works!</h1></body></html>\n"

HTTPD_404 = """<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">
<html><head>
<title>404 Not Found</title>
</head><body>
<h1>Not Found</h1>
<p>The requested URL was not found on this server.</p>
</body></html>
"""


@dataclass(frozen=True)
class Site:
    server: str
    index: str
    not_found: str


SITES = {
    "nginx": Site("nginx", NGINX_INDEX, NGINX_404),
    "httpd": Site("Apache", HTTPD_INDEX, HTTPD_404),
}


def respond(site: Site, req: Request) -> Response:
    """The page for one request: index for ``/`` and ``/index.html``, 404 otherwise; GET and HEAD only."""
    headers = [("Server", site.server), ("Content-Type", "text/html")]
    if req.method not in ("GET", "HEAD"):
        return Response(status=405, body=b"", headers=[("Server", site.server), ("Allow", "GET, HEAD")])
    if req.path in ("/", "/index.html"):
        return Response(body=site.index.encode(), headers=headers)
    return Response(status=404, body=site.not_found.encode(), headers=headers)


def parse_args(argv: list[str]) -> tuple[int, str]:
    """``--port N`` (default 80) and ``--title nginx|httpd`` (default nginx), ``--x=y`` or ``--x y``."""
    port, title = 80, "nginx"
    args = list(argv)
    while args:
        name, _, value = args.pop(0).partition("=")
        if not value and args:
            value = args.pop(0)
        if name == "--port":
            port = int(value)
        elif name == "--title" and value in SITES:
            title = value
        else:
            raise ValueError(
                f"usage: webserver [--port N] [--title nginx|httpd], got {name} {value}".rstrip()
            )
    return port, title


def main(argv: list[str]) -> int:
    try:
        port, title = parse_args(argv)
    except ValueError as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    site = SITES[title]
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
        signal.signal(signum, lambda _s, _f: os._exit(0))
    try:
        server = HTTPServer(lambda req: respond(site, req), port, log=go_log)
    except OSError as exc:
        sys.stderr.write(f"{title}: bind() to [::]:{port} failed ({exc.errno}: {exc.strerror})\n")
        return 1
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
