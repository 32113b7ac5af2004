"""Geometry: analytic domains, meshes (meshio), point sampling and masked grids."""

from .csg import CSG, Ball, Cylinder
from .domains import BoundarySample, Box, Difference, Disk, Domain, Interval, Polygon
from .mesh import Mesh, MeshDomain, read_domain
from .mesher import structured_simplices, triangulate
from .sampling import METHODS, unit_points

__all__ = [
    "BoundarySample", "Box", "Ball", "CSG", "Cylinder", "Difference", "Disk", "Domain", "Interval", "Polygon", "Mesh",
    "MeshDomain", "read_domain", "structured_simplices", "triangulate", "METHODS", "unit_points",
]
