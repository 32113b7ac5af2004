"""Regenerate the committed meshes with sciml's own mesher (no gmsh needed).

    python meshes/generate.py

Writes gmsh 2.2 files whose boundary facets carry physical tags named after the domain's
boundary pieces (``left``, ``right``, ``hole0``, ``circle``, ``edge3``...).
"""

from __future__ import annotations

from pathlib import Path

from sciml.geometry import Box, Difference, Disk, Polygon

HERE = Path(__file__).resolve().parent

MESHES = {
    "lshape.msh": (Polygon(((0, 0), (1, 0), (1, -1), (-1, -1), (-1, 1), (0, 1))), 0.04),
    "plate-hole.msh": (Difference(Box((-1.0, -1.0), (1.0, 1.0)), (Disk((0.0, 0.0), 0.3),)), 0.04),
    "disk.msh": (Disk((0.0, 0.0), 1.0), 0.05),
    "square-8.msh": (Box((0.0, 0.0), (1.0, 1.0)), 1 / 8),
    "square-16.msh": (Box((0.0, 0.0), (1.0, 1.0)), 1 / 16),
    "square-32.msh": (Box((0.0, 0.0), (1.0, 1.0)), 1 / 32),
    "box3d.msh": (Box((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)), 1 / 16),
}


def main() -> None:
    for name, (domain, h) in MESHES.items():
        mesh = domain.mesh(h)
        mesh.write(HERE / name)
        print(f"{name}: {len(mesh.points)} nodes, {len(mesh.cells)} cells, tags {sorted(mesh.tag_names)}")


if __name__ == "__main__":
    main()
