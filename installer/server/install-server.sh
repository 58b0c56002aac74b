#!/bin/sh
# Install (or upgrade) the PeerTrail sync server on Debian 12 / Ubuntu 22.04 or newer,
# the pip-in-a-virtual-environment way (docs/SERVER.md, section 1):
#
#   sudo apt-get install python3 python3-venv          # Python 3.11 or newer
#   sudo sh installer/server/install-server.sh ./peertrail-0.1.0-py3-none-any.whl
#
# What it does (each step only when not done already, so running it again upgrades):
#   - a system user "peertrail" that owns the data and nothing else (no shell, no login);
#   - the data folder /var/lib/peertrail (mode 700, the service user's);
#   - /etc/peertrail (755) with server.toml (640, root:peertrail) when there is none;
#   - a virtual environment /opt/peertrail-server owned by root with
#     'peertrail[server]' (FastAPI, uvicorn, SQLAlchemy, psycopg; no Qt) installed;
#   - the systemd unit /etc/systemd/system/peertrail-server.service (enabled, not
#     started: add users first), and the docs in /opt/peertrail-server/docs.
#
# Settings for other places (and for the tests): PEERTRAIL_PREFIX, PEERTRAIL_DATA,
# PEERTRAIL_ETC, PEERTRAIL_USER, PEERTRAIL_UNIT_DIR, PEERTRAIL_ADDRESS (written to a new
# server.toml as address = "...", for 'users invite'), PYTHON (default python3).
set -eu

PACKAGE=${1:-}
PREFIX=${PEERTRAIL_PREFIX:-/opt/peertrail-server}
DATA=${PEERTRAIL_DATA:-/var/lib/peertrail}
ETC=${PEERTRAIL_ETC:-/etc/peertrail}
SERVICE_USER=${PEERTRAIL_USER:-peertrail}
UNIT_DIR=${PEERTRAIL_UNIT_DIR:-/etc/systemd/system}
PYTHON=${PYTHON:-python3}
HERE=$(cd "$(dirname "$0")" && pwd)

fail() { echo "error: $*" >&2; exit 1; }

[ -n "$PACKAGE" ] || fail "give the PeerTrail wheel (peertrail-X.Y.Z-py3-none-any.whl) or source folder"
[ -e "$PACKAGE" ] || fail "$PACKAGE does not exist"
[ "$(id -u)" -eq 0 ] || fail "run it as root (sudo)"
command -v "$PYTHON" >/dev/null || fail "$PYTHON is not installed: apt-get install python3 python3-venv"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || fail "Python 3.11 or newer is needed ($("$PYTHON" --version 2>&1) found)"
"$PYTHON" -c 'import ensurepip, venv' 2>/dev/null \
    || fail "the venv module is missing: apt-get install python3-venv"

# 1. the service user
if ! id -u "$SERVICE_USER" >/dev/null 2>&1; then
    useradd --system --home-dir "$DATA" --no-create-home --shell /usr/sbin/nologin "$SERVICE_USER"
    echo "Made the system user $SERVICE_USER."
fi

# 2. the data folder and the settings folder
install -d -o "$SERVICE_USER" -g "$SERVICE_USER" -m 700 "$DATA"
install -d -o root -g root -m 755 "$ETC"
if [ ! -e "$ETC/server.toml" ]; then
    {
        echo "# PeerTrail sync server settings (docs/SERVER.md, section 7): flags > environment > this file."
        echo "data-dir = \"$DATA\""
        if [ -n "${PEERTRAIL_ADDRESS:-}" ]; then echo "address = \"$PEERTRAIL_ADDRESS\""; fi
        echo "# database-url = \"postgresql://peertrail:PASSWORD@127.0.0.1:5432/peertrail\""
    } > "$ETC/server.toml"
    chown "root:$SERVICE_USER" "$ETC/server.toml"
    chmod 640 "$ETC/server.toml"
    echo "Wrote $ETC/server.toml."
fi

# 3. the program, in its own virtual environment (root's; the service only reads it)
if [ ! -x "$PREFIX/bin/python" ]; then
    "$PYTHON" -m venv "$PREFIX"
fi
"$PREFIX/bin/python" -m pip install --quiet --upgrade pip
case "$PACKAGE" in
    *.whl) SPEC="$PACKAGE[server]" ;;
    *) SPEC="$(cd "$PACKAGE" && pwd)[server]" ;;
esac
"$PREFIX/bin/python" -m pip install --quiet --upgrade "$SPEC"
install -d -m 755 "$PREFIX/docs"
for doc in SERVER.md SYNC.md; do
    if [ -f "$HERE/../../docs/$doc" ]; then install -m 644 "$HERE/../../docs/$doc" "$PREFIX/docs/"; fi
done
if command -v runuser >/dev/null && ! runuser -u "$SERVICE_USER" -- "$PREFIX/bin/python" -c pass 2>/dev/null; then
    fail "the user $SERVICE_USER cannot run $PREFIX/bin/python (it points to $(readlink -f "$PREFIX/bin/python"), in a folder only root can read, e.g. a pyenv Python under /root): remove $PREFIX and run this again with PYTHON=/usr/bin/python3"
fi
VERSION=$("$PREFIX/bin/python" -m sync.server --version)
echo "Installed: $VERSION"

# 4. the systemd unit (paths adjusted when not the defaults)
if [ -d "$UNIT_DIR" ]; then
    sed -e "s#/opt/peertrail-server#$PREFIX#g" -e "s#/var/lib/peertrail#$DATA#g" \
        -e "s#/etc/peertrail#$ETC#g" -e "s#^User=peertrail#User=$SERVICE_USER#" \
        -e "s#^Group=peertrail#Group=$SERVICE_USER#" \
        "$HERE/peertrail-server.service" > "$UNIT_DIR/peertrail-server.service"
    chmod 644 "$UNIT_DIR/peertrail-server.service"
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
        systemctl daemon-reload
        systemctl enable peertrail-server >/dev/null 2>&1 || true
        echo "The service peertrail-server is enabled; start it with: systemctl start peertrail-server"
    else
        echo "Wrote $UNIT_DIR/peertrail-server.service (systemd is not running here: not enabled)."
    fi
fi

cat <<EOF

Next (docs/SERVER.md, section 2):
  sudo -u $SERVICE_USER $PREFIX/bin/python -m sync.server users add NAME --role supervisor
  sudo systemctl start peertrail-server && journalctl -u peertrail-server -n 20
EOF
