"""The installed app, tried as a new user would: build the one-folder app and the
.deb with ``python installer/build.py``, install the .deb with dpkg into an empty
root, and run what was installed with the source tree and the development
virtualenv hidden (a private mount namespace puts empty folders over them and the
installed /opt/peertrail in place). Then: ``--version``, a vault created and
unlocked by the installed binary, the window shown under Xvfb, and a removal that
leaves no file behind.

The build takes minutes, so these tests are marked slow and skipped, with the
reason shown, where PyInstaller (the "build" extra) or dpkg-deb are missing.
Set PEERTRAIL_TEST_PREBUILT=1 to reuse a dist/ .deb of the current version.
Set PEERTRAIL_TEST_APT_INSTALL=1 (as root) to also install it with apt on this
machine and remove it again.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.store import migrations

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "dist"
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
PASSPHRASE = "gravel road past the grain elevator"

LINUX = sys.platform.startswith("linux")
HAVE_PYINSTALLER = importlib.util.find_spec("PyInstaller") is not None
HAVE_DPKG = bool(shutil.which("dpkg-deb") and shutil.which("dpkg"))
CAN_SANDBOX = LINUX and os.geteuid() == 0 and bool(shutil.which("unshare"))

BUILD_MARKS = [
    pytest.mark.slow,
    pytest.mark.skipif(not LINUX, reason="the .deb is built and tried on Linux only"),
    pytest.mark.skipif(
        not HAVE_PYINSTALLER,
        reason="PyInstaller is not installed: pip install -e '.[desktop,build]' to build them",
    ),
    pytest.mark.skipif(not HAVE_DPKG, reason="dpkg-deb/dpkg are not installed"),
]


def needs_build(test):
    """Slow, and skipped (with the reason) where the build tools are missing."""
    for mark in BUILD_MARKS:
        test = mark(test)
    return test


def _spec_resource_dirs() -> list[str]:
    tree = ast.parse((ROOT / "installer" / "peertrail.spec").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "RESOURCE_DIRS" for t in node.targets
        ):
            return list(ast.literal_eval(node.value))
    raise AssertionError("RESOURCE_DIRS not found in installer/peertrail.spec")


def test_the_spec_lists_every_resource_folder():
    on_disk = sorted(p.name for p in (ROOT / "resources").iterdir() if p.is_dir())
    assert sorted(_spec_resource_dirs()) == on_disk


def test_the_icon_set_is_complete():
    from PIL import Image

    from app.paths import ICON_SIZES
    from app.paths import icon_files

    assert [Image.open(f).size for f in icon_files()] == [(s, s) for s in ICON_SIZES]
    ico = Image.open(ROOT / "resources" / "icons" / "peertrail.ico")
    assert {16, 32, 48, 256} <= {w for w, _h in ico.info["sizes"]}


# -- build and install ---------------------------------------------------------------


@pytest.fixture(scope="module")
def deb() -> Path:
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True)
    path = DIST / f"peertrail_{VERSION}_{arch.stdout.strip()}.deb"
    if os.environ.get("PEERTRAIL_TEST_PREBUILT") == "1" and path.is_file():
        return path
    result = subprocess.run(
        [sys.executable, str(ROOT / "installer" / "build.py")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert path.is_file(), f"build.py did not write {path.name}"
    report = json.loads((ROOT / "build" / "installer-report.json").read_text())
    assert report["version"] == VERSION and report["deb_bytes"] == path.stat().st_size
    return path


@pytest.fixture(scope="module")
def root(deb: Path, tmp_path_factory) -> Iterator[Path]:
    """An empty root with its own dpkg database, the .deb installed in it."""
    r = tmp_path_factory.mktemp("root")
    for d in ("var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers"):
        (r / d).mkdir(parents=True)
    (r / "var/lib/dpkg/status").touch()
    # dependencies are the host's system libraries, so they are not in this database
    result = _dpkg(r, "--force-depends", "-i", str(deb))
    assert result.returncode == 0, result.stderr
    yield r


def _dpkg(r: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["dpkg", f"--root={r}", "--force-not-root", "--log=/dev/null", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def installed(
    r: Path, home: Path, *args: str, env: dict[str, str] | None = None, **kw
) -> subprocess.Popen[str] | subprocess.CompletedProcess[str]:
    """Run the installed /usr/bin/peertrail as a new user would: a bare environment,
    a fresh home, and (when this runs as root) the source tree and the development
    virtualenv hidden behind empty folders, /opt/peertrail from the install root."""
    base = {
        "HOME": str(home),
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "XDG_RUNTIME_DIR": str(home / "run"),
    }
    (home / "run").mkdir(mode=0o700, parents=True, exist_ok=True)
    base.update(env or {})
    launcher = str(r / "usr/bin/peertrail")
    if CAN_SANDBOX:
        hide = " && ".join(
            f"mount -t tmpfs tmpfs {d}" for d in sorted({str(ROOT), sys.prefix}) if Path(d).is_dir()
        )
        script = (
            f"{hide} && mount -t tmpfs tmpfs /opt && mkdir /opt/peertrail && "
            f'mount --bind {r}/opt/peertrail /opt/peertrail && exec "$0" "$@"'
        )
        cmd = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, launcher]
    else:  # run the folder in place (the launcher's /opt path is not there)
        cmd = [str(r / "opt/peertrail/peertrail")]
    if kw.pop("background", False):
        return subprocess.Popen(
            [*cmd, *args], env=base, cwd=home, text=True, start_new_session=True, **kw
        )
    return subprocess.run(
        [*cmd, *args], env=base, cwd=home, capture_output=True, text=True, timeout=120, **kw
    )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    return h


# -- the package ----------------------------------------------------------------------


@needs_build
def test_deb_holds_the_app_launcher_menu_entry_and_icons(deb: Path):
    fields = subprocess.run(["dpkg-deb", "-f", str(deb)], capture_output=True, text=True).stdout
    assert re.search(r"^Package: peertrail$", fields, re.M)
    assert re.search(rf"^Version: {re.escape(VERSION)}$", fields, re.M)
    assert "libxcb-cursor0" in fields and "libegl1" in fields
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True).stdout
    names = {line.split()[-1].lstrip(".") for line in listing.splitlines()}
    assert "/usr/bin/peertrail" in names
    assert "/opt/peertrail/peertrail" in names
    assert "/usr/share/applications/peertrail.desktop" in names
    assert "/opt/peertrail/_internal/resources/styles/app.qss" in names
    assert "/opt/peertrail/_internal/resources/VERSION" in names
    for size in (16, 24, 32, 48, 64, 128, 256, 512):
        assert f"/usr/share/icons/hicolor/{size}x{size}/apps/peertrail.png" in names
    assert "/usr/share/icons/hicolor/scalable/apps/peertrail.svg" in names
    # nothing of the server or the test tools is shipped to laptops
    assert not any("/sync/server" in n or "fastapi" in n or "pytest" in n for n in names)


@needs_build
def test_desktop_entry_is_valid(root: Path):
    entry = root / "usr/share/applications/peertrail.desktop"
    text = entry.read_text()
    assert "Exec=peertrail\n" in text and "Icon=peertrail\n" in text
    if shutil.which("desktop-file-validate"):
        result = subprocess.run(["desktop-file-validate", str(entry)], capture_output=True)
        assert result.returncode == 0, result.stdout


@needs_build
def test_bundle_needs_only_libraries_the_package_depends_on(root: Path):
    """Every shared library an installed binary needs is in the bundle or comes from
    a package the .deb depends on (or one of theirs), so apt brings it."""
    sys.path.insert(0, str(ROOT / "installer"))
    try:
        from build import DEB_DEPENDS
    finally:
        sys.path.remove(str(ROOT / "installer"))
    app = root / "opt/peertrail"
    bundled = {p.name for p in app.rglob("*.so*")}
    wanted = {d.split()[0] for d in DEB_DEPENDS}  # names only: the libc6 floor is a template
    closure = subprocess.run(
        ["apt-cache", "depends", "--recurse", "--no-suggests", "--no-recommends",
         "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances", *wanted],
        capture_output=True, text=True,
    ).stdout  # fmt: skip
    provided = wanted | {
        line.split(":")[-1].strip().strip("<>").split(":")[0]
        for line in closure.splitlines()
        if line and not line.startswith(" ")
    }
    checked = [
        app / "peertrail",
        *app.glob("_internal/PySide6/Qt/plugins/platforms/*.so"),
        *app.glob("_internal/PySide6/Qt/lib/*.so*"),
        *app.glob("_internal/*.so*"),
    ]
    missing: dict[str, str] = {}
    unknown: list[str] = []
    for elf in checked:
        dyn = subprocess.run(["readelf", "-d", str(elf)], capture_output=True, text=True).stdout
        for soname in re.findall(r"\(NEEDED\).*\[(.+?)\]", dyn):
            if soname in bundled or soname in missing or soname in unknown:
                continue
            owner = subprocess.run(
                ["dpkg", "-S", f"*/{soname}"], capture_output=True, text=True
            ).stdout
            packages = {line.split(":")[0] for line in owner.splitlines() if line}
            if not packages:
                unknown.append(soname)
            elif not packages & provided:
                missing[soname] = ",".join(sorted(packages))
    assert not missing, f"needed but not depended on: {missing}"
    if unknown:
        pytest.skip(f"not installed here, so their packages are unknown: {', '.join(unknown)}")


# -- the installed app ---------------------------------------------------------------


@needs_build
def test_installed_app_prints_the_pyproject_version(root: Path, home: Path):
    result = installed(root, home, "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"PeerTrail {VERSION}"


@needs_build
def test_installed_app_creates_and_unlocks_a_vault(root: Path, home: Path):
    env = {"PEERTRAIL_PASSPHRASE": PASSPHRASE}
    created = installed(root, home, "init", env=env)
    assert created.returncode == 0, created.stderr
    assert "recovery key" in created.stdout
    data = home / ".local/share/PeerTrail"  # platformdirs' folder for a new user
    assert (data / "vault.json").is_file() and (data / "peertrail.db").is_file()

    status = installed(root, home, "status", "--json", env=env)
    assert status.returncode == 0, status.stderr
    info = json.loads(status.stdout)
    assert info["schema_version"] == migrations.LATEST
    assert installed(root, home, "check", env=env).returncode == 0

    wrong = installed(root, home, "status", env={"PEERTRAIL_PASSPHRASE": "not the passphrase"})
    assert wrong.returncode == 3
    assert "passphrase" in wrong.stderr.lower()


def _xvfb(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    read, write = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        pass_fds=(write,),
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    with os.fdopen(read) as f:
        number = f.readline().strip()
    assert number.isdigit(), "Xvfb did not start"
    return proc, f":{number}"


def _windows(display: str) -> str:
    out = subprocess.run(
        ["xwininfo", "-display", display, "-root", "-tree"], capture_output=True, text=True
    )
    return out.stdout


@needs_build
@pytest.mark.skipif(
    not (shutil.which("Xvfb") and shutil.which("xwininfo")),
    reason="Xvfb or xwininfo missing: apt-get install xvfb x11-utils",
)
def test_installed_app_starts_under_xvfb(root: Path, home: Path, tmp_path: Path):
    xcb = root / "opt/peertrail/_internal/PySide6/Qt/plugins/platforms/libqxcb.so"
    ldd = subprocess.run(["ldd", str(xcb)], capture_output=True, text=True).stdout
    if "not found" in ldd:
        pytest.skip(
            "this machine lacks the .deb's X11 libraries (apt installs them as dependencies): "
            + ", ".join(re.findall(r"(\S+) => not found", ldd))
        )
    xvfb, display = _xvfb(tmp_path)
    app = installed(
        root,
        home,
        env={"DISPLAY": display, "QT_QPA_PLATFORM": "xcb"},
        background=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while '("peertrail" "PeerTrail")' not in _windows(display):
            assert app.poll() is None, f"the app exited: {app.communicate()[1][-2000:]}"
            assert time.monotonic() < deadline, "no PeerTrail window within 60 s"
            time.sleep(0.2)
        tree = _windows(display)
        assert re.search(r'"PeerTrail": \("peertrail" "PeerTrail"\)\s+1000x700', tree), tree
        if importlib.util.find_spec("PIL"):
            from PIL import ImageGrab

            shot = ImageGrab.grab(xdisplay=display)
            shot.save(tmp_path / "installed-first-start.png")
            # the page is drawn: the window area holds the style sheet's colours
            assert len(shot.crop((0, 0, 1000, 700)).getcolors(maxcolors=1 << 20) or []) > 20
        assert app.poll() is None
    finally:
        os.killpg(app.pid, signal.SIGTERM)
        _out, err = app.communicate(timeout=30)
        xvfb.terminate()
        xvfb.wait(timeout=30)
    assert "Traceback" not in err
    assert "could not load the Qt platform plugin" not in err


@needs_build
def test_removal_leaves_no_file_but_the_users_data(deb: Path, tmp_path: Path):
    r = tmp_path / "root"
    for d in ("var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers"):
        (r / d).mkdir(parents=True)
    (r / "var/lib/dpkg/status").touch()
    assert _dpkg(r, "--force-depends", "-i", str(deb)).returncode == 0
    home = tmp_path / "home"
    home.mkdir()
    assert installed(r, home, "init", env={"PEERTRAIL_PASSPHRASE": PASSPHRASE}).returncode == 0
    removed = _dpkg(r, "--purge", "peertrail")
    assert removed.returncode == 0, removed.stderr
    left = [p for p in r.rglob("*") if "var/lib/dpkg" not in str(p.relative_to(r))]
    assert [p for p in left if not p.is_dir()] == []
    assert not (r / "opt/peertrail").exists()
    assert (home / ".local/share/PeerTrail/vault.json").is_file()  # the person's vault stays


@needs_build
@pytest.mark.skipif(
    os.environ.get("PEERTRAIL_TEST_APT_INSTALL") != "1" or not LINUX or os.geteuid() != 0,
    reason="installs on this machine: set PEERTRAIL_TEST_APT_INSTALL=1 and run as root",
)
def test_apt_installs_and_removes_it_on_this_machine(deb: Path, tmp_path: Path):
    if subprocess.run(["dpkg", "-s", "peertrail"], capture_output=True).returncode == 0:
        pytest.skip("peertrail is already installed on this machine; left alone")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        got = subprocess.run(
            ["apt-get", "install", "-y", "-q", str(deb)],
            env=env, capture_output=True, text=True, timeout=900,
        )  # fmt: skip
        assert got.returncode == 0, got.stdout[-2000:] + got.stderr[-2000:]
        home = tmp_path / "home"
        home.mkdir()
        run_env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
        version = subprocess.run(
            ["peertrail", "--version"], env=run_env, capture_output=True, text=True
        )
        assert version.stdout.strip() == f"PeerTrail {VERSION}"
        run_env["PEERTRAIL_PASSPHRASE"] = PASSPHRASE
        assert (
            subprocess.run(["peertrail", "init"], env=run_env, capture_output=True).returncode == 0
        )
        status = subprocess.run(
            ["peertrail", "status", "--json"], env=run_env, capture_output=True, text=True
        )
        assert json.loads(status.stdout)["schema_version"] == migrations.LATEST
    finally:
        subprocess.run(["apt-get", "purge", "-y", "-q", "peertrail"], env=env, capture_output=True)
    assert not Path("/opt/peertrail").exists()
    assert not Path("/usr/bin/peertrail").exists()
    assert not Path("/usr/share/applications/peertrail.desktop").exists()


def test_the_glibc_floor_is_read_from_the_bundle(tmp_path: Path):
    """The .deb's libc6 dependency is the newest GLIBC_ symbol version a bundled ELF
    file needs (not a fixed number), so a build on an older system installs there."""
    if not shutil.which("objdump"):
        pytest.skip("objdump (binutils) is not installed")
    sys.path.insert(0, str(ROOT / "installer"))
    try:
        import build
    finally:
        sys.path.remove(str(ROOT / "installer"))
    (tmp_path / "notes.txt").write_text("not an ELF file")
    shutil.copy(sys.executable, tmp_path / "python")
    dump = subprocess.run(["objdump", "-T", sys.executable], capture_output=True, text=True)
    versions = [tuple(map(int, v)) for v in re.findall(r"GLIBC_(\d+)\.(\d+)", dump.stdout)]
    assert build.glibc_floor(tmp_path) == max(versions)
    floor = "{}.{}".format(*max(versions))
    assert f"libc6 (>= {floor})" in build.deb_depends(tmp_path)
