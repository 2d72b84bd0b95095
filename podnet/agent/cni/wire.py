"""The framing between the thin client and the resident server: no imports, so the client pays nothing.

Request:  ``MAGIC`` then ``KEY=VALUE\\0`` for each CNI_* variable, an empty entry (``\\0``), then
the stdin bytes verbatim; the client then shuts its write side. Environment values cannot hold NUL,
and every entry holds ``=``, so the first ``\\0\\0`` ends the header.
Response: the exit status in ASCII, ``\\n``, then the stdout bytes verbatim.
"""

MAGIC = b"PODNETCNI1\0"
NETNS_KEY = (
    b"PODNET_CLIENT_NETNS"  # the client's netns inode: the server refuses to act for another namespace
)


def encode_request(env: dict[bytes, bytes], stdin: bytes) -> bytes:
    header = b"".join(k + b"=" + v + b"\0" for k, v in env.items())
    return MAGIC + header + b"\0" + stdin


def decode_request(data: bytes) -> tuple[dict[str, str], bytes]:
    if not data.startswith(MAGIC):
        raise ValueError("not a podnet-cni request")
    body = data[len(MAGIC) :]
    if body.startswith(b"\0"):  # no variables at all
        return {}, body[1:]
    end = body.find(b"\0\0")
    if end < 0:
        raise ValueError("truncated podnet-cni request")
    env: dict[str, str] = {}
    for entry in body[:end].split(b"\0"):
        key, sep, value = entry.partition(b"=")
        if not sep:
            raise ValueError("malformed podnet-cni request")
        env[key.decode("utf-8", "surrogateescape")] = value.decode("utf-8", "surrogateescape")
    return env, body[end + 2 :]


def encode_response(status: int, stdout: bytes) -> bytes:
    return str(status).encode() + b"\n" + stdout


def decode_response(data: bytes) -> tuple[int, bytes]:
    status, sep, stdout = data.partition(b"\n")
    if not sep or not status.isdigit():
        raise ValueError("malformed podnet-cni response")
    return int(status), stdout
