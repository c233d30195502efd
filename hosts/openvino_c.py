"""The OpenVINO C library as programs outside Python load it: the wasmtime CLI's
openvino-rs and the native-c driver.

Both look for an unversioned `libopenvino_c.so`; the `openvino` wheel ships versioned
names only. `library_dir()` makes a cache folder of symlinks plus a `plugins.xml` that
gives each device plugin the same properties the Python OpenVINO backend uses
(`OpenVinoBackend.config`: f32 precision, threads, latency hint), so outputs and speed
are comparable across hosts.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from xml.sax.saxutils import quoteattr

from contracts import paths
from hosts.backends.openvino_backend import OpenVinoBackend

DEVICE_PLUGINS = (("CPU", "intel_cpu"), ("GPU", "intel_gpu"))


def plugins_xml(threads: int) -> str:
    """OpenVINO plugin registry with our backend's per-device properties."""
    backend = OpenVinoBackend()
    lines = ["<ie>", "  <plugins>"]
    for device, lib in DEVICE_PLUGINS:
        config = backend.config(device.lower(), threads)  # the same settings as native
        lines.append(f'    <plugin name="{device}" location="libopenvino_{lib}_plugin.so">')
        lines.append("      <properties>")
        for key, value in config.items():
            lines.append(f"        <property key={quoteattr(key)} value={quoteattr(str(value))}/>")
        lines += ["      </properties>", "    </plugin>"]
    lines += ["  </plugins>", "</ie>", ""]
    return "\n".join(lines)


def plugins_summary(threads: int) -> str:
    """The plugins.xml properties, one line: 'CPU: K=V, ...; GPU: ...'."""
    backend = OpenVinoBackend()
    return "; ".join(
        f"{dev}: " + ", ".join(f"{k}={v}" for k, v in backend.config(dev.lower(), threads).items())
        for dev, _ in DEVICE_PLUGINS
    )


def library_dir(threads: int) -> Path:
    """A folder where libopenvino_c.so is found (via LD_LIBRARY_PATH or -L/rpath).

    Every library of the openvino wheel is linked under its own name and its
    unversioned name (libopenvino_c.so.2641 -> libopenvino_c.so); OpenVINO then
    reads the plugins.xml beside libopenvino.so.
    """
    import openvino

    libs = Path(openvino.__file__).parent / "libs"
    xml = plugins_xml(threads)
    key = hashlib.sha256(f"{libs}\0{openvino.get_version()}\0{xml}".encode()).hexdigest()[:16]

    def fill(folder: Path) -> None:
        for lib in sorted(libs.glob("*.so*")):
            (folder / lib.name).symlink_to(lib)
            plain = re.sub(r"\.so\.[0-9.]+$", ".so", lib.name)
            if plain != lib.name and not (folder / plain).exists():
                (folder / plain).symlink_to(lib)
        (folder / "plugins.xml").write_text(xml)

    return paths.atomic_dir(paths.cli_cache() / f"openvino-{key}", fill)


def library_env(threads: int) -> dict[str, str]:
    """This process's environment with `library_dir(threads)` first on LD_LIBRARY_PATH:
    how a child process (the wasmtime CLI) finds libopenvino_c.so and plugins.xml."""
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = os.pathsep.join(
        p for p in (str(library_dir(threads)), env.get("LD_LIBRARY_PATH", "")) if p
    )
    return env
