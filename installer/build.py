"""Build the PeerTrail desktop app for the platform this runs on.

    python installer/build.py            # build everything this platform can make
    python installer/build.py --no-deb   # Linux: only the one-folder app

Steps: write the version from pyproject.toml into build/generated/VERSION (the
frozen app reads it; ``peertrail --version`` and the About dialog show it), run
PyInstaller on installer/peertrail.spec (one folder in dist/), then package it:

- Linux: dist/peertrail_<version>_<arch>.deb with dpkg-deb: the app in
  /opt/peertrail, a /usr/bin/peertrail launcher, a .desktop entry and the icon in
  the hicolor sizes. Install with ``sudo apt install ./dist/peertrail_*.deb``;
  ``sudo apt remove peertrail`` removes every file it installed (the vaults in the
  users' home folders stay).
- Windows: dist/PeerTrail-<version>-setup.exe with Inno Setup's ISCC.exe when it
  is installed (installer/windows/peertrail.iss), else only the folder.
- macOS: dist/PeerTrail.app (from the same spec).

Timings and sizes go to build/installer-report.json and are printed at the end.
Needs the "desktop" and "build" extras: ``pip install -e '.[desktop,build]'``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTALLER = ROOT / "installer"
BUILD = ROOT / "build"
DIST = ROOT / "dist"
GENERATED = BUILD / "generated"
SPEC = INSTALLER / "peertrail.spec"
ICONS = ROOT / "resources" / "icons"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)

PACKAGE = "peertrail"
INSTALL_DIR = "/opt/peertrail"
#: What the frozen app needs from a Debian/Ubuntu system that PyInstaller does not
#: bundle: the C library, OpenGL/EGL, fonts, D-Bus, and the X11/Wayland client
#: libraries Qt's platform plugins load (tests/test_installer.py checks that every
#: library the bundle links to is either in it or provided by one of these).
DEB_DEPENDS = (
    "libc6 (>= {glibc})",
    "libegl1",
    "libgl1",
    "libfontconfig1",
    "libfreetype6",
    "libdbus-1-3",
    "libglib2.0-0",
    "libxkbcommon0",
    "libxkbcommon-x11-0",
    "libx11-xcb1",
    "libxcb-cursor0",
    "libxcb-icccm4",
    "libxcb-image0",
    "libxcb-keysyms1",
    "libxcb-randr0",
    "libxcb-render-util0",
    "libxcb-shape0",
    "libxcb-xinerama0",
    "libxcb-xkb1",
    "libwayland-client0",
    "libwayland-cursor0",
    "libwayland-egl1",
)

DESKTOP_ENTRY = """\
[Desktop Entry]
Type=Application
Version=1.5
Name=PeerTrail
GenericName=Peer support caseload
Comment=Caseload, service notes and hours for peer support specialists
Exec=peertrail
TryExec=peertrail
Icon=peertrail
Terminal=false
Categories=Office;MedicalSoftware;
Keywords=peer;support;recovery;caseload;notes;
StartupNotify=true
StartupWMClass=PeerTrail
"""

LAUNCHER = f"""\
#!/bin/sh
# PeerTrail launcher: the app itself lives in {INSTALL_DIR}.
exec {INSTALL_DIR}/peertrail "$@"
"""


class BuildError(Exception):
    pass


def project_version() -> str:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    return str(data["project"]["version"])


def write_version_file(version: str) -> Path:
    GENERATED.mkdir(parents=True, exist_ok=True)
    path = GENERATED / "VERSION"
    path.write_text(version + "\n", encoding="utf-8")
    return path


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def run(cmd: list[str], **kw) -> None:
    print("+", " ".join(cmd), flush=True)
    result = subprocess.run(cmd, **kw)
    if result.returncode != 0:
        raise BuildError(f"{Path(cmd[0]).name} failed with exit code {result.returncode}")


def pyinstaller(version_file: Path) -> None:
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        raise BuildError(
            "PyInstaller is not installed. Install the build extras: "
            "pip install -e '.[desktop,build]'"
        ) from None
    env = dict(os.environ, PEERTRAIL_VERSION_FILE=str(version_file))
    run(
        [
            sys.executable,
            "-m",
            "PyInstaller",
            "--noconfirm",
            "--clean",
            "--log-level=WARN",
            f"--distpath={DIST}",
            f"--workpath={BUILD / 'pyinstaller'}",
            str(SPEC),
        ],
        env=env,
        cwd=ROOT,
    )


# -- Linux: .deb --------------------------------------------------------------------


#: The oldest systems the .deb is for: Ubuntu 22.04 LTS has glibc 2.35, Debian 12
#: has 2.36. PySide6's wheels are built for manylinux_2_34 (glibc 2.34), so Qt itself
#: runs there; what else the bundle picks up from the build machine decides the rest.
GLIBC_TARGET = (2, 35)


def glibc_floor(app_dir: Path) -> tuple[int, int]:
    """The newest GLIBC_x.y symbol version any ELF file in the bundle needs (objdump -T):
    the oldest C library the app runs on. The .deb's libc6 dependency is this."""
    newest = (2, 17)
    for path in app_dir.rglob("*"):
        if not path.is_file() or path.is_symlink():
            continue
        with path.open("rb") as f:
            if f.read(4) != b"\x7fELF":
                continue
        dump = subprocess.run(["objdump", "-T", str(path)], capture_output=True, text=True)
        for major, minor in re.findall(r"GLIBC_(\d+)\.(\d+)", dump.stdout):
            newest = max(newest, (int(major), int(minor)))
    return newest


def deb_depends(app_dir: Path) -> list[str]:
    floor = glibc_floor(app_dir)
    return [d.format(glibc=f"{floor[0]}.{floor[1]}") for d in DEB_DEPENDS]


def deb_arch() -> str:
    if shutil.which("dpkg"):
        out = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)


def build_deb(app_dir: Path, version: str) -> Path:
    if not shutil.which("dpkg-deb"):
        raise BuildError("dpkg-deb is not installed (apt-get install dpkg); no .deb was made")
    arch = deb_arch()
    stage = BUILD / "deb" / f"{PACKAGE}_{version}_{arch}"
    shutil.rmtree(stage, ignore_errors=True)
    target = stage / INSTALL_DIR.lstrip("/")
    shutil.copytree(app_dir, target, symlinks=True)
    _write(stage / "usr/bin/peertrail", LAUNCHER, 0o755)
    _write(stage / "usr/share/applications/peertrail.desktop", DESKTOP_ENTRY)
    for size in ICON_SIZES:
        dest = stage / f"usr/share/icons/hicolor/{size}x{size}/apps/peertrail.png"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ICONS / f"peertrail-{size}.png", dest)
    scalable = stage / "usr/share/icons/hicolor/scalable/apps/peertrail.svg"
    scalable.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ICONS / "peertrail.svg", scalable)
    _write(
        stage / "usr/share/doc/peertrail/copyright",
        "PeerTrail\nCopyright: the PeerTrail authors. All rights reserved.\n",
    )
    for p in stage.rglob("*"):  # dpkg wants 0755 folders whatever the umask was
        if p.is_dir():
            p.chmod(0o755)

    installed_kib = (folder_size(stage) + 1023) // 1024
    control = (
        f"Package: {PACKAGE}\n"
        f"Version: {version}\n"
        f"Architecture: {arch}\n"
        "Maintainer: PeerTrail <support@peertrail.org>\n"
        f"Installed-Size: {installed_kib}\n"
        f"Depends: {', '.join(deb_depends(app_dir))}\n"
        "Section: misc\n"
        "Priority: optional\n"
        "Homepage: https://peertrail.org\n"
        "Description: caseload, notes and hours for peer support specialists\n"
        " PeerTrail keeps a peer support specialist's caseload, service notes and\n"
        " hours in an encrypted vault on the laptop, works with no connection, and\n"
        " syncs with the organisation's own server when one is there.\n"
    )
    _write(stage / "DEBIAN/control", control)
    sums = []
    for p in sorted(stage.rglob("*")):
        if p.is_file() and not p.is_symlink() and "DEBIAN" not in p.relative_to(stage).parts:
            digest = hashlib.md5(p.read_bytes(), usedforsecurity=False).hexdigest()
            sums.append(f"{digest}  {p.relative_to(stage)}")
    _write(stage / "DEBIAN/md5sums", "\n".join(sums) + "\n")
    (stage / "DEBIAN").chmod(0o755)

    out = DIST / f"{PACKAGE}_{version}_{arch}.deb"
    out.unlink(missing_ok=True)
    run(["dpkg-deb", "--root-owner-group", "-Zxz", "--build", str(stage), str(out)])
    return out


# -- Windows: Inno Setup --------------------------------------------------------------


def find_iscc() -> str | None:
    found = shutil.which("ISCC") or shutil.which("iscc")
    if found:
        return found
    for base in (os.environ.get("PROGRAMFILES(X86)"), os.environ.get("PROGRAMFILES")):
        if base:
            candidate = Path(base) / "Inno Setup 6" / "ISCC.exe"
            if candidate.is_file():
                return str(candidate)
    return None


def build_windows_setup(app_dir: Path, version: str) -> Path | None:
    iscc = find_iscc()
    if iscc is None:
        print("Inno Setup (ISCC.exe) not found: only the folder was built.", flush=True)
        return None
    run(
        [
            iscc,
            f"/DAppVersion={version}",
            f"/DSourceDir={app_dir}",
            f"/DIconFile={ICONS / 'peertrail.ico'}",
            f"/O{DIST}",
            str(INSTALLER / "windows" / "peertrail.iss"),
        ]
    )
    return DIST / f"PeerTrail-{version}-setup.exe"


# -- main -------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-deb", action="store_true", help="Linux: skip the .deb")
    args = parser.parse_args(argv)

    version = project_version()
    report: dict[str, object] = {"version": version, "platform": sys.platform}
    started = time.perf_counter()
    try:
        version_file = write_version_file(version)
        pyinstaller(version_file)
        report["pyinstaller_seconds"] = round(time.perf_counter() - started, 1)
        if sys.platform == "darwin":
            app_dir = DIST / "PeerTrail.app"
        elif sys.platform == "win32":
            app_dir = DIST / "PeerTrail"
        else:
            app_dir = DIST / "peertrail"
        report["app_dir"] = str(app_dir)
        report["app_dir_bytes"] = folder_size(app_dir)
        if sys.platform.startswith("linux"):
            floor = glibc_floor(app_dir)
            report["glibc_floor"] = f"{floor[0]}.{floor[1]}"
            if floor > GLIBC_TARGET:
                print(
                    f"warning: the bundle needs glibc {floor[0]}.{floor[1]}, newer than Ubuntu "
                    "22.04's 2.35: build on an older system (installer/README.md)",
                    file=sys.stderr,
                )
        if sys.platform.startswith("linux") and not args.no_deb:
            deb = build_deb(app_dir, version)
            report["deb"] = str(deb)
            report["deb_bytes"] = deb.stat().st_size
        elif sys.platform == "win32":
            setup = build_windows_setup(app_dir, version)
            if setup is not None:
                report["setup"] = str(setup)
                report["setup_bytes"] = setup.stat().st_size
    except BuildError as e:
        print(f"build failed: {e}", file=sys.stderr)
        return 1
    report["total_seconds"] = round(time.perf_counter() - started, 1)
    (BUILD / "installer-report.json").write_text(json.dumps(report, indent=2) + "\n")

    mib = 1024 * 1024
    print(f"\nPeerTrail {version} built in {report['total_seconds']} s")
    print(f"  app folder  {app_dir}  ({report['app_dir_bytes'] / mib:.1f} MiB)")
    for key in ("deb", "setup"):
        if key in report:
            print(f"  {key:11} {report[key]}  ({int(report[key + '_bytes']) / mib:.1f} MiB)")
    if "glibc_floor" in report:
        floor = report["glibc_floor"]
        print(f"  needs glibc {floor} or newer (Ubuntu 22.04: 2.35, Debian 12: 2.36)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
